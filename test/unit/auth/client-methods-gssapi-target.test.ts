/**
 * The name in the client's GSS-API target host@NAME (client-methods/gssapi-target.ts): GSSAPIServerIdentity
 * first; with GSSAPITrustDns the confirmed name of the address reached (127.0.0.1 is "localhost" in
 * /etc/hosts), the address itself when it has none, the host name over a stream without an address;
 * otherwise the host name as connected to.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gssapiTargetHost } from '../../../src/auth/client-methods/gssapi-target.ts';

describe('gssapi-with-mic target name', () => {
  it('is the host name connected to, unless GSSAPIServerIdentity names another', async () => {
    assert.equal(await gssapiTargetHost({ host: 'gw.example.org', peerAddress: '127.0.0.1' }), 'gw.example.org');
    assert.equal(await gssapiTargetHost({ host: 'gw.example.org', serverIdentity: 'kdc-name.example.org', trustDns: true, peerAddress: '127.0.0.1' }), 'kdc-name.example.org');
  });

  it('with GSSAPITrustDns, is the name DNS confirms for the address, else the address', async () => {
    assert.equal(await gssapiTargetHost({ host: 'gw', trustDns: true, peerAddress: '127.0.0.1' }), 'localhost');
    assert.equal(await gssapiTargetHost({ host: 'gw', trustDns: true, peerAddress: '::ffff:127.0.0.1' }), 'localhost');
    // 192.0.2.0/24 (RFC 5737) has no names.
    assert.equal(await gssapiTargetHost({ host: 'gw', trustDns: true, peerAddress: '192.0.2.1' }), '192.0.2.1');
    // ProxyCommand or a jump host's channel: no address to ask about.
    assert.equal(await gssapiTargetHost({ host: 'gw', trustDns: true }), 'gw');
  });
});
