/** The library's own client, logged in to a test sshd on 127.0.0.1 the way the interop tests need it. */
import { connect, type SshClient } from '../../src/client/client.ts';
import { identityFileKeys } from '../../src/client/identities.ts';
import type { PrivateKey } from '../../src/keys/index.ts';

/** Connects as root with the private key file `key`, accepting any host key. */
export function connectAsRoot(port: number, key: string): Promise<SshClient> {
  return connect({
    host: '127.0.0.1',
    port,
    username: 'root',
    verifyHostKey: () => {},
    auth: { methods: ['publickey'], keys: () => identityFileKeys([key], {}) },
  });
}

/** Connects as `username` to a server on 127.0.0.1 with an in-memory private key, accepting any host key. */
export function connectWithKey(port: number, username: string, key: PrivateKey): Promise<SshClient> {
  return connect({
    host: '127.0.0.1',
    port,
    username,
    verifyHostKey: () => {},
    auth: { keys: () => [{ publicKey: key.publicKey, label: 'key', sign: async (data, algorithm) => key.sign(data, algorithm) }] },
  });
}
