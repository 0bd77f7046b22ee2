/**
 * `tether ssh -Q`: every query ssh(1) answers, listing exactly what Tether implements (the registries), the
 * option-name aliases compared case-insensitively, and ssh's error for an unknown query.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { queryLines, queryOutput, UnsupportedQueryError } from '../../../src/cli/ssh-query.ts';
import { CIPHERS, MACS } from '../../../src/crypto/cipher/index.ts';
import { KEX_METHODS } from '../../../src/crypto/kex/methods.ts';
import { COMPRESSIONS } from '../../../src/crypto/compression.ts';
import { keyTypes } from '../../../src/keys/algorithms/index.ts';
import { runTether } from '../../helpers/tether.ts';

describe('ssh -Q', () => {
  it('lists the implemented algorithms of each kind', () => {
    assert.deepEqual(queryLines('cipher'), [...CIPHERS.keys()]);
    assert.deepEqual(queryLines('cipher-auth'), ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']);
    assert.deepEqual(queryLines('mac'), [...MACS.keys()]);
    assert.deepEqual(queryLines('kex'), [...KEX_METHODS.keys()]);
    assert.deepEqual(queryLines('compression'), COMPRESSIONS);
    assert.deepEqual(queryLines('protocol-version'), ['2']);
    const certs = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'].map((t) => `${t}-cert-v01@openssh.com`);
    // Each key type followed by its certificate type, as ssh lists them.
    assert.deepEqual(queryLines('key'), keyTypes().flatMap((t, i) => [t, certs[i]]));
    assert.deepEqual(queryLines('key-plain'), ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);
    assert.deepEqual(queryLines('key-cert'), certs);
    // Signature algorithms add RSA's SHA-2 names (RFC 8332) to the key types.
    assert.deepEqual(queryLines('sig'), [...keyTypes(), 'rsa-sha2-512', 'rsa-sha2-256']);
    assert.deepEqual(queryLines('key-sig'), queryLines('sig').flatMap((s) => [s, `${s}-cert-v01@openssh.com`]));
    assert.deepEqual(queryLines('key-ca-sign'), queryLines('sig'));
    // No GSSAPI key exchange: an empty answer, not an error.
    assert.deepEqual(queryLines('kex-gss'), []);
    assert.equal(queryOutput('kex-gss'), '');
  });

  it('help names every query, and each of them answers', () => {
    const queries = queryLines('help');
    for (const name of ['cipher', 'cipher-auth', 'compression', 'kex', 'kex-gss', 'key', 'key-ca-sign', 'key-cert', 'key-plain', 'key-sig', 'mac', 'protocol-version', 'sig']) {
      assert.ok(queries.includes(name), name);
    }
    for (const name of queries) assert.doesNotThrow(() => queryLines(name), name);
  });

  it('accepts option names in any case, but the query words only as written', () => {
    assert.deepEqual(queryLines('Ciphers'), queryLines('cipher'));
    assert.deepEqual(queryLines('CIPHERS'), queryLines('cipher'));
    assert.deepEqual(queryLines('macs'), queryLines('mac'));
    assert.deepEqual(queryLines('KexAlgorithms'), queryLines('kex'));
    for (const name of ['HostKeyAlgorithms', 'PubkeyAcceptedKeyTypes', 'PubkeyAcceptedAlgorithms', 'HostbasedKeyTypes', 'HostbasedAcceptedKeyTypes', 'HostbasedAcceptedAlgorithms']) {
      assert.deepEqual(queryLines(name.toLowerCase()), queryLines('key-sig'), name);
    }
    assert.deepEqual(queryLines('CASignatureAlgorithms'), queryLines('key-ca-sign'));
    assert.throws(() => queryLines('Cipher'), UnsupportedQueryError);
    assert.throws(() => queryLines('KEY'), UnsupportedQueryError);
  });

  it('prints one name a line on stdout and exits 0; an unknown query is fatal, exit 255', async () => {
    const ok = await runTether(['ssh', '-Q', 'key-plain']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.toString(), queryOutput('key-plain'));
    assert.match(ok.stdout.toString(), /^ssh-ed25519\n/);
    const bad = await runTether(['ssh', '-Q', 'x']);
    assert.equal(bad.status, 255);
    assert.equal(bad.stdout.toString(), '');
    assert.equal(bad.stderr, 'Unsupported query "x"\r\n');
  });
});
