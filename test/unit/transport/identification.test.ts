/**
 * How the server reads a client's identification line, as sshd's kex_exchange_identification does: what it
 * accepts (CR LF or bare LF, lines up to 8192 bytes, protocol 2.0 and 1.99), and for what it refuses the
 * plain-text line it writes back before closing ("Invalid SSH identification string.", "Protocol major
 * versions differ.") — there are no packets yet to carry a DISCONNECT.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { Transport } from '../../../src/transport/transport.ts';
import { IdentificationError, IdentificationReader } from '../../../src/transport/version.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';

const hostKey = generatePrivateKey('ed25519');

/** Sends `input` to a server transport; resolves with everything it wrote and the error it closed with. */
async function serverAnswer(input: Buffer | string): Promise<{ written: string; error: Error | null }> {
  const [clientSide, serverSide] = duplexPair();
  const chunks: Buffer[] = [];
  clientSide.on('data', (chunk: Buffer) => chunks.push(chunk));
  const server = new Transport({ role: 'server', stream: serverSide, hostKeys: [hostKey] });
  clientSide.write(input);
  const error = await Promise.race([
    server.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('server did not close')), 5000).unref()),
  ]);
  await new Promise((resolve) => setImmediate(resolve));
  clientSide.destroy();
  return { written: Buffer.concat(chunks).toString('latin1'), error };
}

describe("the server's reading of the client identification", () => {
  test('a line that is not an identification gets "Invalid SSH identification string." before the close', async () => {
    const { written, error } = await serverAnswer('GET / HTTP/1.1\r\n');
    assert.equal(written, 'SSH-2.0-Tether_0.1\r\nInvalid SSH identification string.\r\n');
    assert.ok(error instanceof IdentificationError);
    assert.match(error.message, /client sent invalid protocol identifier "GET \/ HTTP\/1\.1"/);
  });

  test('protocol 1.5 gets "Protocol major versions differ."', async () => {
    const { written, error } = await serverAnswer('SSH-1.5-HALLO\n');
    assert.equal(written, 'SSH-2.0-Tether_0.1\r\nProtocol major versions differ.\r\n');
    assert.equal(error?.message, 'Protocol major versions differ: 2 vs. 1');
  });

  test('a NUL, a CR inside the line, or a missing software version are invalid', async () => {
    for (const line of ['SSH-2.0-a\0b\r\n', 'SSH-2.0-a\rb\n', 'SSH-2.0-\r\n', 'SSH-\n', 'SSH-x.y-z\n']) {
      const { written } = await serverAnswer(line);
      assert.ok(written.endsWith('\r\nInvalid SSH identification string.\r\n'), JSON.stringify(line));
    }
  });

  test('a line longer than 8192 bytes is invalid, one of 8192 is read', () => {
    const long = `SSH-2.0-${'x'.repeat(8192 - 8)}`;
    assert.equal(new IdentificationReader(false).push(Buffer.from(`${long}\r\n`))?.version, long);
    assert.throws(() => new IdentificationReader(false).push(Buffer.from(`${long}y`)), IdentificationError);
  });

  test('accepted: CR LF or LF, 1.99, a comment after the software version, bytes split anywhere', () => {
    assert.equal(new IdentificationReader(false).push(Buffer.from('SSH-1.99-Old\n'))?.version, 'SSH-1.99-Old');
    const reader = new IdentificationReader(false);
    assert.equal(reader.push(Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian\r')), undefined);
    const result = reader.push(Buffer.from('\nrest'));
    assert.equal(result?.version, 'SSH-2.0-OpenSSH_9.2p1 Debian');
    assert.equal(result?.rest.toString(), 'rest');
  });
});
