/**
 * Failover on its own (issue 16): the order connectToFirstReachable tries names and addresses in, what passes a
 * candidate over and what is final, ssh's messages; and the host-key policy for an alternate (known under its
 * own name or the host's, never asked about, never a source for UpdateHostKeys) and for an unattended reconnect.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectToFirstReachable, ConnectError, ResolveError, type ConnectTarget } from '../../../src/client/address-list.ts';
import { hostKeyVerifier, HostKeyVerificationError, type HostKeyAcceptance } from '../../../src/client/host-key-policy.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tether-failover-unit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A listener on 127.0.0.1 that closes what it accepts; resolves with its port. */
function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('connectToFirstReachable', () => {
  it('tries each name in order, says so as ssh does, and accepts the first that establishes', async () => {
    const { server, port } = await listening();
    try {
      const messages: string[] = [];
      const tried: ConnectTarget[] = [];
      const reached = await connectToFirstReachable({
        names: ['127.0.0.2', 'no-such-host.invalid', '127.0.0.1'],
        port,
        debug: (message) => messages.push(message),
        establish: async (stream, _socket, target) => {
          tried.push(target);
          stream.destroy();
          return target;
        },
      });
      assert.deepEqual(reached, { name: '127.0.0.1', index: 2, primary: '127.0.0.2', address: '127.0.0.1', port, unattended: false });
      assert.equal(tried.length, 1);
      assert.deepEqual(messages, [
        'Could not resolve hostname no-such-host.invalid: Name or service not known',
        `Connecting to 127.0.0.2 [127.0.0.2] port ${port}.`,
        `connect to address 127.0.0.2 port ${port}: Connection refused`,
        `Connecting to 127.0.0.1 [127.0.0.1] port ${port}.`,
        'Connection established.',
      ]);
    } finally {
      server.close();
    }
  });

  it('passes over a candidate that fails to establish, and the last one\'s failure is final', async () => {
    const { server, port } = await listening();
    try {
      const passedOver: string[] = [];
      const refusal = new HostKeyVerificationError();
      const failing = connectToFirstReachable({
        names: ['127.0.0.1', '127.0.0.1'],
        port,
        onPassedOver: (target, error) => passedOver.push(`${target.index}: ${error.message}`),
        establish: async (stream) => {
          stream.destroy();
          throw refusal;
        },
      });
      await assert.rejects(failing, (error) => error === refusal);
      assert.deepEqual(passedOver, ['0: Host key verification failed.']);
    } finally {
      server.close();
    }
  });

  it('every name refusing: the last name\'s ssh error; no name resolving: the resolver\'s', async () => {
    const { server, port } = await listening();
    server.close();
    await assert.rejects(
      connectToFirstReachable({ names: ['127.0.0.2', '127.0.0.3'], port, establish: async () => assert.fail('nothing to establish') }),
      (error) => error instanceof ConnectError && error.message === `connect to host 127.0.0.3 port ${port}: Connection refused`,
    );
    await assert.rejects(
      connectToFirstReachable({ names: ['a.invalid', 'b.invalid'], port, establish: async () => assert.fail('nothing to establish') }),
      (error) => error instanceof ResolveError && error.message === 'Could not resolve hostname a.invalid: Name or service not known',
    );
  });

  it('through a dialer (a jump host): names are not resolved here, a refused channel passes the name over', async () => {
    const dialed: string[] = [];
    const reached = await connectToFirstReachable({
      names: ['inner-a', 'inner-b'],
      port: 22,
      dial: async (name) => {
        dialed.push(name);
        if (name === 'inner-a') throw new Error('open failed');
        const { PassThrough } = await import('node:stream');
        return new PassThrough();
      },
      establish: async (stream, socket, target) => {
        stream.destroy();
        assert.equal(socket, undefined);
        return target;
      },
    });
    assert.deepEqual(dialed, ['inner-a', 'inner-b']);
    assert.equal(reached.name, 'inner-b');
    assert.equal(reached.address, undefined);
  });
});

describe('host-key policy for alternates', () => {
  const hostKey = generatePrivateKey('ed25519').publicKey;
  const otherKey = generatePrivateKey('ed25519').publicKey;
  let files = 0;
  const target = (name: string, index: number, unattended = false): ConnectTarget => ({ name, index, primary: 'gw.example', address: '127.0.0.1', port: 22, unattended });

  function policy(known: string, strict: 'yes' | 'ask' | 'accept-new' | 'no' = 'accept-new') {
    const file = join(scratch, `known_hosts_${files++}`);
    writeFileSync(file, known);
    const messages: string[] = [];
    const accepted: HostKeyAcceptance[] = [];
    const verify = hostKeyVerifier({
      host: 'gw.example', port: 22, strict, userKnownHostsFiles: [file], globalKnownHostsFiles: [],
      warn: (text) => messages.push(text), info: (text) => messages.push(text),
      ask: async () => assert.fail('an alternate is never asked about'),
      onAccepted: (how) => accepted.push(how),
    });
    return { verify, messages, accepted, read: () => readFileSync(file, 'utf8') };
  }

  it('an alternate holding the host\'s key is accepted, as an alternate (UpdateHostKeys leaves it alone)', async () => {
    const shared = policy(`gw.example ${hostKey.toLine()}\n`);
    await shared.verify(hostKey, 'ssh-ed25519', { address: '127.0.0.1' }, target('gw-backup.example', 1));
    assert.deepEqual(shared.accepted, ['alternate']);
    assert.deepEqual(shared.messages, []);

    const own = policy(`gw-backup.example ${otherKey.toLine()}\n`);
    await own.verify(otherKey, 'ssh-ed25519', { address: '127.0.0.1' }, target('gw-backup.example', 1));
    assert.deepEqual(own.accepted, ['alternate']);
  });

  it('an alternate with an unknown key is refused as under strict checking, whatever StrictHostKeyChecking asks', async () => {
    for (const strict of ['accept-new', 'ask', 'yes'] as const) {
      const unknown = policy(`gw.example ${hostKey.toLine()}\n`, strict);
      await assert.rejects(unknown.verify(otherKey, 'ssh-ed25519', { address: '127.0.0.1' }, target('gw-backup.example', 1)), HostKeyVerificationError);
      assert.deepEqual(unknown.messages, ['No ED25519 host key is known for gw-backup.example and you have requested strict checking.']);
      assert.equal(unknown.read(), `gw.example ${hostKey.toLine()}\n`, 'nothing recorded');
    }
  });

  it('the host itself is checked as ssh checks it, unless no one can answer', async () => {
    const attended = policy('');
    await attended.verify(hostKey, 'ssh-ed25519', { address: '127.0.0.1' }, target('gw.example', 0));
    assert.deepEqual(attended.accepted, ['added']);
    assert.equal(attended.read(), `gw.example ${hostKey.toLine()}\n`);

    const unattended = policy('');
    await assert.rejects(unattended.verify(hostKey, 'ssh-ed25519', { address: '127.0.0.1' }, target('gw.example', 0, true)), HostKeyVerificationError);
    assert.equal(unattended.read(), '');
  });
});
