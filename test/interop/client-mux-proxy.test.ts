/**
 * `-O proxy` through a Tether ControlMaster relays the proxy client's whole connection protocol (PROTOCOL.mux
 * §9): its global requests reach the server and their replies come back (the port the server allocated for
 * `-R 0:…`), and the forwarded-tcpip channels the server opens for its remote forwards are passed to it.
 * Proxy clients: `tether ssh -O proxy` and the stock `ssh -O proxy`; the server is a stock sshd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { startTether, TETHER_BIN } from '../helpers/tether.ts';
import { closeServer, echoService, listen, waitFor } from '../helpers/services.ts';
import { stopProcess } from '../helpers/processes.ts';

/** Sends a line through the forwarded port and resolves with what comes back. */
function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
    let received = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('no echo within 10 s')));
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.length >= text.length) {
        socket.end();
        resolve(received);
      }
    });
    socket.on('error', reject);
  });
}

describe('-O proxy through a Tether master relays forwards', () => {
  let home: string;
  let sshd: RunningSshd;
  let config: string;
  let ctl: string;
  let echo: Server;
  let echoPort: number;
  let master: ChildProcess;
  const children: ChildProcess[] = [];

  before(async () => {
    home = tempDir('tether-muxproxy-');
    const key = makeKey(home, 'id_ed25519', 'ed25519');
    sshd = await startSshd({ authorizedKeys: [publicKeyLine(key)] });
    const hostKey = readFileSync(`${sshd.hostKeys.ed25519}.pub`, 'utf8').trim();
    writeFileSync(join(home, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${hostKey}\n`);
    config = join(home, 'ssh_config');
    writeFileSync(config, ['Host *', '  HostName 127.0.0.1', `  Port ${sshd.port}`, '  User root', `  IdentityFile ${key}`,
      `  UserKnownHostsFile ${join(home, 'known_hosts')}`, '  StrictHostKeyChecking yes', '  BatchMode yes', ''].join('\n'));
    echo = echoService();
    echoPort = await listen(echo);
    ctl = join(home, 'ctl');
    master = startTether(['ssh', '-F', config, '-N', '-n', '-M', '-S', ctl, 'somehost']);
    children.push(master);
    await waitFor('the control socket', () => existsSync(ctl), 20_000);
  });

  after(async () => {
    for (const child of children) await stopProcess(child);
    await closeServer(echo);
    await sshd.stop();
    rmSync(home, { recursive: true, force: true });
  });

  /** Starts a proxy client with `-R 0:…` and returns the port the server allocated, from its message. */
  async function remoteForwardThrough(program: string[], label: string): Promise<void> {
    const child = spawn(program[0]!, [...program.slice(1), '-F', config, '-S', ctl, '-O', 'proxy', '-R', `127.0.0.1:0:127.0.0.1:${echoPort}`, 'somehost', 'sleep 20'],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.resume();
    const port = await waitFor(`${label}: the allocated port`, () => /Allocated port (\d+) for remote forward/.exec(stderr)?.[1], 15_000);
    assert.equal(await echoThrough(Number(port), `through ${label}\n`), `through ${label}\n`);
    await stopProcess(child);
  }

  test('tether ssh -O proxy -R 0:…: the allocated port is reported and connections reach the client', async () => {
    await remoteForwardThrough([process.execPath, TETHER_BIN, 'ssh'], 'tether');
  });

  test('ssh -O proxy -R 0:… (stock client) works the same through the Tether master', async () => {
    await remoteForwardThrough(['/usr/bin/ssh'], 'ssh');
  });
});
