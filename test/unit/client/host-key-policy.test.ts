/**
 * The host-key policy on its own (sshconnect.c check_host_key semantics) where a live connection cannot show
 * it: CheckHostIP against a non-loopback address, loopback peers left unrecorded, keys of another type not
 * counting as a changed key, HostKeyAlias without a port, and KnownHostsCommand entries never written back.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostKeyVerifier, HostKeyVerificationError, preferKnownHostKeyTypes, type HostKeyPolicyOptions } from '../../../src/client/host-key-policy.ts';
import { generatePrivateKey, parseKnownHosts } from '../../../src/keys/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tether-hkp-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
const ed25519 = generatePrivateKey('ed25519').publicKey;
const ecdsa = generatePrivateKey('ecdsa', 256).publicKey;

function policy(overrides: Partial<HostKeyPolicyOptions> & { known?: string }) {
  const file = join(scratch, `known_hosts_${files++}`);
  if (overrides.known !== undefined) writeFileSync(file, overrides.known);
  const messages: { level: 'warn' | 'info'; text: string }[] = [];
  const options: HostKeyPolicyOptions = {
    host: 'server.example',
    port: 2222,
    strict: 'accept-new',
    userKnownHostsFiles: [file],
    globalKnownHostsFiles: [],
    warn: (text) => messages.push({ level: 'warn', text }),
    info: (text) => messages.push({ level: 'info', text }),
    ...overrides,
  };
  return { verify: hostKeyVerifier(options), file, messages, read: () => (existsSync(file) ? readFileSync(file, 'utf8') : '') };
}

describe('host-key policy', () => {
  it('CheckHostIP records a non-loopback address beside the name, and not a loopback one', async () => {
    const remote = policy({ checkHostIP: true });
    await remote.verify(ed25519, 'ssh-ed25519', { address: '192.0.2.7' });
    assert.equal(remote.read(), `[server.example]:2222,[192.0.2.7]:2222 ${ed25519.toLine()}\n`);
    assert.deepEqual(remote.messages, [{ level: 'info', text: "Warning: Permanently added '[server.example]:2222,[192.0.2.7]:2222' (ED25519) to the list of known hosts." }]);

    const local = policy({ checkHostIP: true });
    await local.verify(ed25519, 'ssh-ed25519', { address: '127.0.0.1' });
    assert.equal(local.read(), `[server.example]:2222 ${ed25519.toLine()}\n`);
  });

  it('CheckHostIP reports an address known with another key, and refuses it under strict checking', async () => {
    const known = `[server.example]:2222 ${ed25519.toLine()}\n[192.0.2.7]:2222 ${generatePrivateKey('ed25519').publicKey.toLine()}\n`;
    const strict = policy({ checkHostIP: true, strict: 'yes', known });
    await assert.rejects(strict.verify(ed25519, 'ssh-ed25519', { address: '192.0.2.7' }), HostKeyVerificationError);
    assert.match(strict.messages[0]!.text, /^Warning: the ED25519 host key for '\[server\.example\]:2222' differs from the key for the IP address '\[192\.0\.2\.7\]:2222'\nOffending key for IP in .*:2$/);
    const lenient = policy({ checkHostIP: true, strict: 'no', known });
    await lenient.verify(ed25519, 'ssh-ed25519', { address: '192.0.2.7' });
  });

  it('a known key of another type leaves the host new, not changed', async () => {
    const other = policy({ strict: 'accept-new', known: `[server.example]:2222 ${ecdsa.toLine()}\n` });
    await other.verify(ed25519, 'ssh-ed25519', { address: undefined });
    assert.match(other.read(), new RegExp(`\n\\[server\\.example\\]:2222 ${ed25519.toLine().replace(/[+/]/g, '\\$&')}\n$`));
    const changed = policy({ strict: 'accept-new', known: `[server.example]:2222 ${generatePrivateKey('ed25519').publicKey.toLine()}\n` });
    await assert.rejects(changed.verify(ed25519, 'ssh-ed25519', { address: undefined }), HostKeyVerificationError);
    assert.match(changed.messages[0]!.text, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
  });

  it('HostKeyAlias is looked up and recorded without the port, and orders algorithms by its keys', async () => {
    const aliased = policy({ hostKeyAlias: 'alias', known: `alias ${ecdsa.toLine()}\n` });
    await aliased.verify(ecdsa, 'ecdsa-sha2-nistp256', { address: '192.0.2.7' });
    const fresh = policy({ hostKeyAlias: 'alias' });
    await fresh.verify(ed25519, 'ssh-ed25519', { address: undefined });
    assert.equal(fresh.read(), `alias ${ed25519.toLine()}\n`);
    const order = preferKnownHostKeyTypes(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512'], {
      host: 'server.example', port: 2222, hostKeyAlias: 'alias', userKnownHostsFiles: [aliased.file], globalKnownHostsFiles: [],
    });
    assert.deepEqual(order, ['ecdsa-sha2-nistp256', 'ssh-ed25519', 'rsa-sha2-512']);
  });

  it('keeps the configured order when the first algorithm already has a known key (order_hostkeyalgs)', () => {
    const file = join(scratch, 'order');
    writeFileSync(file, `[server.example]:2222 ${ed25519.toLine()}\n[server.example]:2222 ${ecdsa.toLine()}\n`);
    const order = preferKnownHostKeyTypes(['ssh-ed25519', 'rsa-sha2-512', 'ecdsa-sha2-nistp256'], {
      host: 'server.example', port: 2222, userKnownHostsFiles: [file], globalKnownHostsFiles: [],
    });
    assert.deepEqual(order, ['ssh-ed25519', 'rsa-sha2-512', 'ecdsa-sha2-nistp256']);
  });

  it('KnownHostsCommand entries vouch for a key and are never written back; without files a new key is refused', async () => {
    const asked: string[] = [];
    const command: HostKeyPolicyOptions['knownHostsCommand'] = async (invocation, name, key) => {
      asked.push(`${invocation} ${name} ${key.type}`);
      return parseKnownHosts(`[server.example]:2222 ${ed25519.toLine()}\n`, 'KnownHostsCommand-HOSTNAME').entries;
    };
    const vouched = policy({ strict: 'yes', checkHostIP: true, knownHostsCommand: command });
    await vouched.verify(ed25519, 'ssh-ed25519', { address: '192.0.2.7' });
    assert.equal(vouched.read(), '');
    assert.deepEqual(asked, ['HOSTNAME [server.example]:2222 ssh-ed25519', 'ADDRESS [192.0.2.7]:2222 ssh-ed25519']);

    const noFiles = policy({ strict: 'accept-new', userKnownHostsFiles: [] });
    await assert.rejects(noFiles.verify(ecdsa, 'ecdsa-sha2-nistp256', { address: undefined }), HostKeyVerificationError);
  });
});
