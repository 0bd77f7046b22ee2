/**
 * Remote dynamic forwarding through a real OpenSSH sshd: `-R [bind:]port` and `RemoteForward port` with no
 * target make sshd listen while `tether ssh` answers SOCKS4, 4a and 5 on each forwarded connection and
 * connects from the client's side (ssh(1) -R). PermitRemoteOpen limits the destinations; an unreachable one
 * is refused to the SOCKS client. The library's forwardRemote without a target does the same.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import type { Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { freePort, sshdWithClientKey, type RunningSshd } from '../helpers/openssh.ts';
import { startTetherCollecting } from '../helpers/tether.ts';
import { connectAsRoot } from '../helpers/library-client.ts';
import { canConnect, closeServer, dualStackHttpService, echoService, hashUntilEnd, httpGetText, listen, socksConnect, waitFor } from '../helpers/services.ts';
import { stopProcess } from '../helpers/processes.ts';

describe('tether ssh remote dynamic forwarding through OpenSSH sshd', () => {
  let home: string;
  let key: string;
  let sshd: RunningSshd;
  let http: HttpServer;
  let httpPort: number;
  let http6: HttpServer;
  let echo: Server;
  let echoPort: number;
  const children: ChildProcess[] = [];

  before(async () => {
    ({ home, key, sshd } = await sshdWithClientKey({ config: ['AllowTcpForwarding yes', 'GatewayPorts no'] }));
    ({ servers: [http, http6], port: httpPort } = await dualStackHttpService());
    echo = echoService();
    echoPort = await listen(echo);
  });

  after(async () => {
    for (const child of children) await stopProcess(child);
    await sshd.stop();
    await Promise.all([http, http6, echo].map(closeServer));
  });

  /** Starts `tether ssh -N …` in the background and collects its stderr. */
  function startForwarder(extra: string[]): { child: ChildProcess; stderr: () => string } {
    const started = startTetherCollecting([
      'ssh', '-F', 'none', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
      '-o', 'BatchMode=yes', '-i', key, '-p', String(sshd.port), '-N', ...extra, 'root@127.0.0.1',
    ], { env: { HOME: home } });
    children.push(started.child);
    return started;
  }

  test('-R 0 allocates a port on the server and answers SOCKS4, 4a and 5 (IPv4, name, IPv6) there', async () => {
    const { child, stderr } = startForwarder(['-R', '0']);
    const allocated = await waitFor('the allocated port message', () => {
      const match = /Allocated port (\d+) for remote forward to socks:0/.exec(stderr());
      return match ? Number(match[1]) : undefined;
    });
    const cases: Array<['4' | '4a' | '5', string]> = [['4', '127.0.0.1'], ['4a', 'localhost'], ['5', '127.0.0.1'], ['5', 'localhost'], ['5', '::1']];
    for (const [version, host] of cases) {
      const socket = await socksConnect(allocated, version, host, httpPort);
      const result = await httpGetText({ path: `/rsocks${version}`, createConnection: () => socket });
      assert.equal(result.body, `hello from the tunnelled service: /rsocks${version}`, `SOCKS${version} to ${host}`);
    }
    // Bulk data both ways, after the SOCKS exchange on the same channel.
    const payload = randomBytes(4 * 1024 * 1024);
    const socket = await socksConnect(allocated, '5', '127.0.0.1', echoPort);
    const echoed = hashUntilEnd(socket);
    socket.end(payload);
    const { sha256, bytes } = await echoed;
    assert.equal(bytes, payload.length);
    assert.equal(sha256, createHash('sha256').update(payload).digest('hex'));
    // A closed destination: connection refused (RFC 1928 reply 5), and the forward stays up.
    const closed = await freePort();
    await assert.rejects(socksConnect(allocated, '5', '127.0.0.1', closed), /SOCKS5 refused: 5/);
    // The SOCKS reply can overtake the log line: wait (bounded) for ssh's message.
    const refused = new RegExp(`connect_to 127\\.0\\.0\\.1 port ${closed}: failed\\.`);
    await waitFor('the connect_to failure message', () => refused.test(stderr()));
    assert.equal(child.exitCode, null);
    await stopProcess(child);
  });

  test('RemoteForward with a bind address and port only, with PermitRemoteOpen limiting destinations', async () => {
    const port = await freePort();
    const { child } = startForwarder(['-o', `RemoteForward 127.0.0.1:${port}`, '-o', `PermitRemoteOpen 127.0.0.1:${httpPort} localhost:*`]);
    await waitFor('the remote listener', () => canConnect({ port }));
    const allowed = await socksConnect(port, '5', '127.0.0.1', httpPort);
    assert.equal((await httpGetText({ path: '/permitted', createConnection: () => allowed })).body, 'hello from the tunnelled service: /permitted');
    const byName = await socksConnect(port, '4a', 'localhost', echoPort);
    const echoed = hashUntilEnd(byName);
    byName.end('ping');
    assert.equal((await echoed).bytes, 4);
    // Not listed: refused as "not allowed" (reply 2) for SOCKS5, "rejected" for SOCKS4.
    await assert.rejects(socksConnect(port, '5', '127.0.0.1', echoPort), /SOCKS5 refused: 2/);
    await assert.rejects(socksConnect(port, '4', '127.0.0.1', echoPort), /SOCKS4 refused: 91/);
    await stopProcess(child);
  });

  test('PermitRemoteOpen none refuses every destination', async () => {
    const port = await freePort();
    const { child } = startForwarder(['-R', `${port}`, '-o', 'PermitRemoteOpen none']);
    await waitFor('the remote listener', () => canConnect({ port }));
    await assert.rejects(socksConnect(port, '5', '127.0.0.1', httpPort), /SOCKS5 refused: 2/);
    await stopProcess(child);
  });

  test('the library: forwardRemote with no target serves SOCKS on the server-side port', async () => {
    const client = await connectAsRoot(sshd.port, key);
    try {
      const allocated = await client.forwardRemote({ bindPort: 0 });
      assert.ok(allocated !== undefined && allocated > 0);
      const socket = await socksConnect(allocated, '5', 'localhost', httpPort);
      assert.equal((await httpGetText({ path: '/library', createConnection: () => socket })).body, 'hello from the tunnelled service: /library');
    } finally {
      client.end();
    }
  });
});
