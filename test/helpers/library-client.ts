/** The library's own client, logged in to a test sshd on 127.0.0.1 the way the interop tests need it. */
import { connect, type SshClient } from '../../src/client/client.ts';
import { identityFileKeys } from '../../src/client/identities.ts';

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
