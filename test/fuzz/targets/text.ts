/**
 * Fuzz targets over the text formats: public key lines, private key files (OpenSSH and PEM), known_hosts,
 * authorized_keys, ssh_config and sshd_config. Configuration inputs never reach a shell or another file:
 * lines that would (Match exec, Include, host canonicalisation, which resolves names) are dropped first.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, resolveSshConfigSync } from '../../../src/config/ssh/index.ts';
import { ConnectionSpecError, dashTSettings, parseSshdConfigText, SshdConfigError } from '../../../src/config/sshd/index.ts';
import { AuthorizedKeyOptionError, parseAuthorizedKeyLine } from '../../../src/keys/authorized-keys.ts';
import {
  checkHostKey, entryMatchesName, isPrivateKeyEncrypted, type KnownHostsEntry, KeyFormatError, parseKnownHostsLine, parsePrivateKey, parsePublicKeyLine,
  PassphraseRequiredError, readPublicKeyFromPrivate, WrongPassphraseError,
} from '../../../src/keys/index.ts';
import { addrMatchList, matchHostAndAddress } from '../../../src/match/addresses.ts';
import { DecodeError } from '../../../src/wire/index.ts';
import { mutatedInput, textTokens } from '../mutate.ts';
import { expectTyped, FuzzFinding, loadCorpus, type FuzzTarget } from '../target.ts';

const KEY_ERRORS = [KeyFormatError, DecodeError, PassphraseRequiredError, WrongPassphraseError];

function textTarget(name: string, run: (text: string) => void, maxRandom = 1024): FuzzTarget {
  const seeds = loadCorpus(name);
  return { name, input: mutatedInput(seeds, { tokens: textTokens(seeds), maxRandom }), run: (input) => run(input.toString('utf8')) };
}

export const publicKeyLine = textTarget('public-key-line', (text) => {
  expectTyped('parsePublicKeyLine', KEY_ERRORS, () => parsePublicKeyLine(text));
});

/** bcrypt rounds we are willing to spend per input: a mutated rounds field would otherwise take hours. */
const MAX_FUZZ_ROUNDS = 4;

function kdfRounds(text: string): number | undefined {
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([^-]*)-----END/.exec(text);
  if (!match) return undefined;
  try {
    const binary = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
    let at = 15;
    const skip = () => { at += 4 + binary.readUInt32BE(at); };
    skip(); // cipher
    skip(); // kdf name
    const optionsLength = binary.readUInt32BE(at);
    if (optionsLength < 8) return 0;
    const saltLength = binary.readUInt32BE(at + 4);
    return binary.readUInt32BE(at + 8 + saltLength);
  } catch {
    return undefined;
  }
}

export const privateKey = textTarget('private-key', (text) => {
  expectTyped('isPrivateKeyEncrypted', KEY_ERRORS, () => isPrivateKeyEncrypted(text));
  expectTyped('readPublicKeyFromPrivate', KEY_ERRORS, () => readPublicKeyFromPrivate(text));
  expectTyped('parsePrivateKey', KEY_ERRORS, () => parsePrivateKey(text));
  const rounds = kdfRounds(text);
  if (rounds !== undefined && rounds <= MAX_FUZZ_ROUNDS) {
    for (const passphrase of ['fuzz', 'wrong']) {
      try {
        expectTyped('parsePrivateKey with a passphrase', KEY_ERRORS, () => parsePrivateKey(text, passphrase));
      } catch (error) {
        if (error instanceof FuzzFinding && error.message.includes(passphrase)) throw new FuzzFinding(`an error names the passphrase: ${error.message}`);
        throw error;
      }
    }
  }
}, 4096);

export const knownHosts = textTarget('known-hosts', (text) => {
  const entries: KnownHostsEntry[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const parsed = expectTyped('parseKnownHostsLine', [], () => parseKnownHostsLine(line, 'fuzz', index + 1));
    if (parsed?.kind === 'entry') entries.push(parsed.entry);
  }
  for (const entry of entries) {
    for (const name of ['host.example', '[host.example]:2222', '192.0.2.1', 'bad.example.org']) {
      expectTyped('entryMatchesName', [], () => entryMatchesName(entry, name));
    }
  }
  if (entries[0]) expectTyped('checkHostKey', [], () => checkHostKey(entries, ['host.example', '192.0.2.1'], 2222, entries[0]!.key));
}, 4096);

export const authorizedKeys = textTarget('authorized-keys', (text) => {
  for (const [index, line] of text.split('\n').entries()) {
    const entry = expectTyped('parseAuthorizedKeyLine', [...KEY_ERRORS, AuthorizedKeyOptionError], () => parseAuthorizedKeyLine(line, index + 1));
    // sshd matches from="..." against the client's name and address when the key is offered.
    if (entry?.options.from) {
      const list = entry.options.from.join(',');
      expectTyped('matchHostAndAddress', [], () => matchHostAndAddress('client.example', '192.0.2.7', list));
      expectTyped('addrMatchList', [], () => addrMatchList('2001:db8::1', list));
    }
  }
}, 4096);

/** Keeps configuration fuzzing away from the shell, other files and the network. */
function withoutSideEffects(text: string): string {
  return text.split(/\r?\n/).filter((line) => !/exec|include|canonical|proxy|command|localnetwork/i.test(line)).join('\n');
}

let scratch: string | undefined;

export const sshConfig = textTarget('ssh-config', (text) => {
  scratch ??= mkdtempSync(join(tmpdir(), 'tether-fuzz-'));
  const file = join(scratch, 'config');
  writeFileSync(file, withoutSideEffects(text));
  chmodSync(file, 0o600);
  for (const host of ['clint', 'gateway.internal', 'other']) {
    expectTyped('resolveSshConfigSync', [ConfigError], () =>
      resolveSshConfigSync({ host, configFile: file, homeDir: scratch, localUser: 'fuzz', uid: 1000, thisHost: 'fuzzhost', env: { HOME: scratch } }),
    );
  }
}, 4096);
sshConfig.teardown = () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
};

export const sshdConfig = textTarget('sshd-config', (text) => {
  const config = expectTyped('parseSshdConfigText', [SshdConfigError], () => parseSshdConfigText(withoutSideEffects(text), 'fuzz', { sshDir: '/nonexistent' }));
  if (config) {
    expectTyped('dashTSettings', [SshdConfigError, ConnectionSpecError], () => dashTSettings(config, 'user=alice,host=client.example,addr=192.0.2.7,laddr=127.0.0.1,lport=22'));
  }
}, 4096);

export const TEXT_TARGETS: readonly FuzzTarget[] = [publicKeyLine, privateKey, knownHosts, authorizedKeys, sshConfig, sshdConfig];
