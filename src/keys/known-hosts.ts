/**
 * known_hosts parsing and host key checking with OpenSSH's semantics (sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT"): one `[@marker] hostpatterns keytype base64 [comment]` per line; markers @revoked and
 * @cert-authority; patterns with `*`, `?`, `!`; `[host]:port` for ports other than 22; and hashed names
 * `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isKeyType } from './algorithms/index.ts';
import { knownHostsName, matchPatternList } from './host-patterns.ts';
import { parsePublicKeyLine, type SshPublicKey } from './public-key.ts';
import type { KeyType, PublicKey } from './types.ts';

export type KnownHostsMarker = 'revoked' | 'cert-authority';

export interface KnownHostsEntry {
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  readonly marker?: KnownHostsMarker;
  /** The host field as written: a pattern list, or a hashed `|1|salt|hash` name. */
  readonly hosts: string;
  readonly hashed?: { readonly salt: Buffer; readonly hash: Buffer };
  readonly key: SshPublicKey;
  readonly comment: string;
  /** The whole line as it appears in the file (without the newline). */
  readonly text: string;
}

export interface KnownHostsProblem {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

/** Outcome of reading one line: an entry, nothing (blank/comment/unsupported key type), or a problem. */
export type KnownHostsLine =
  | { kind: 'entry'; entry: KnownHostsEntry }
  | { kind: 'skip' }
  | { kind: 'invalid'; reason: string };

const HASH_MAGIC = '|1|';
const SHA1_LENGTH = 20;

function parseHashedName(hosts: string): { salt: Buffer; hash: Buffer } | undefined {
  const parts = hosts.slice(HASH_MAGIC.length).split('|');
  if (parts.length !== 2) return undefined;
  const salt = Buffer.from(parts[0]!, 'base64');
  const hash = Buffer.from(parts[1]!, 'base64');
  if (salt.length !== SHA1_LENGTH || hash.length !== SHA1_LENGTH) return undefined;
  return { salt, hash };
}

/** Parses one known_hosts line. Lines for key types we do not support are skipped, as ssh ignores them. */
export function parseKnownHostsLine(text: string, file: string, line: number): KnownHostsLine {
  let rest = text.replace(/\r$/, '').replace(/^[ \t]+/, '');
  if (rest === '' || rest.startsWith('#')) return { kind: 'skip' };
  let marker: KnownHostsMarker | undefined;
  if (rest.startsWith('@')) {
    const [word] = rest.split(/[ \t]/, 1);
    if (word === '@revoked') marker = 'revoked';
    else if (word === '@cert-authority') marker = 'cert-authority';
    else return { kind: 'invalid', reason: 'invalid marker' };
    rest = rest.slice(word!.length).replace(/^[ \t]+/, '');
  }
  const hostsEnd = rest.search(/[ \t]/);
  if (hostsEnd < 0) return { kind: 'invalid', reason: 'truncated before key type' };
  const hosts = rest.slice(0, hostsEnd);
  const keyText = rest.slice(hostsEnd).replace(/^[ \t]+/, '');
  let hashed: { salt: Buffer; hash: Buffer } | undefined;
  if (hosts.startsWith(HASH_MAGIC)) {
    hashed = parseHashedName(hosts);
    if (!hashed) return { kind: 'invalid', reason: 'bad host hash' };
  }
  const typeName = keyText.split(/[ \t]/, 1)[0]!;
  if (!isKeyType(typeName)) {
    // Certificates, security keys…: valid for OpenSSH, but not keys we can check against.
    return typeName.length > 0 && keyText.length > typeName.length
      ? { kind: 'skip' }
      : { kind: 'invalid', reason: 'truncated after key type' };
  }
  try {
    const { key, comment } = parsePublicKeyLine(keyText);
    const entry: KnownHostsEntry = { file, line, marker, hosts, hashed, key, comment, text: text.replace(/\r$/, '') };
    return { kind: 'entry', entry };
  } catch (error) {
    return { kind: 'invalid', reason: (error as Error).message };
  }
}

/** Parses a whole known_hosts file. Invalid lines are skipped (ssh ignores them) and listed in `problems`. */
export function parseKnownHosts(
  text: string,
  file = 'known_hosts',
): { entries: KnownHostsEntry[]; problems: KnownHostsProblem[] } {
  const entries: KnownHostsEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  text.split('\n').forEach((raw, index) => {
    const parsed = parseKnownHostsLine(raw, file, index + 1);
    if (parsed.kind === 'entry') entries.push(parsed.entry);
    else if (parsed.kind === 'invalid') problems.push({ file, line: index + 1, reason: parsed.reason });
  });
  return { entries, problems };
}

/** HMAC-SHA1 of `name` under `salt`: the hashed known_hosts name (OpenSSH HashKnownHosts). */
export function hashHostName(name: string, salt: Buffer = randomBytes(SHA1_LENGTH)): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `${HASH_MAGIC}${salt.toString('base64')}|${hash.toString('base64')}`;
}

/**
 * Whether an entry applies to `name`, which must already be in known_hosts form (`host` or `[host]:port`,
 * see knownHostsName). Hashed names are compared exactly; patterns case-insensitively, negation wins.
 */
export function entryMatchesName(entry: Pick<KnownHostsEntry, 'hosts' | 'hashed'>, name: string): boolean {
  if (entry.hashed) {
    const candidate = createHmac('sha1', entry.hashed.salt).update(name.toLowerCase()).digest();
    return timingSafeEqual(candidate, entry.hashed.hash);
  }
  return matchPatternList(name, entry.hosts) === 1;
}

export type HostKeyStatus = 'known' | 'changed' | 'unknown' | 'revoked';

export interface HostKeyCheck {
  readonly status: HostKeyStatus;
  /**
   * known: the entries holding this key; changed: the entries for this host holding other keys (those of the
   * presented key's type first); revoked: the @revoked entries naming this key; unknown: empty.
   */
  readonly matches: readonly { file: string; line: number; type: KeyType }[];
  /** Every key type known for this host (plain entries), to prefer them in host key negotiation. */
  readonly knownTypes: readonly KeyType[];
}

/**
 * Checks the key a server presented, as ssh's check_host_key does for one set of names (pass the host
 * name and, for CheckHostIP, the address; entries for either count).
 *
 * OpenSSH 9.2 semantics, checked against the real client: a @revoked entry holding the key wins; then an
 * entry holding the key makes it known; otherwise ANY other key recorded for the host — whatever its type —
 * makes it "changed" ("Offending RSA key in …" even when an Ed25519 key was presented). That is why ssh
 * orders HostKeyAlgorithms by the known types (`knownTypes` here). @cert-authority entries do not vouch
 * for plain keys.
 */
export function checkHostKey(
  entries: readonly KnownHostsEntry[],
  hostnames: readonly string[],
  port: number,
  key: PublicKey,
): HostKeyCheck {
  const names = hostnames.map((host) => knownHostsName(host, port));
  const applicable = entries.filter((entry) => names.some((name) => entryMatchesName(entry, name)));
  const locate = (entry: KnownHostsEntry) => ({ file: entry.file, line: entry.line, type: entry.key.type });
  const plain = applicable.filter((entry) => entry.marker === undefined);
  const knownTypes = [...new Set(plain.map((entry) => entry.key.type))];

  const revoked = applicable.filter((entry) => entry.marker === 'revoked' && entry.key.equals(key));
  if (revoked.length > 0) return { status: 'revoked', matches: revoked.map(locate), knownTypes };

  const holding = plain.filter((entry) => entry.key.equals(key));
  if (holding.length > 0) return { status: 'known', matches: holding.map(locate), knownTypes };

  if (plain.length > 0) {
    const sameTypeFirst = [...plain].sort(
      (a, b) => Number(b.key.type === key.type) - Number(a.key.type === key.type),
    );
    return { status: 'changed', matches: sameTypeFirst.map(locate), knownTypes };
  }
  return { status: 'unknown', matches: [], knownTypes };
}

/** One known_hosts line (without newline) for `host` on `port`, optionally with the name hashed. */
export function formatKnownHostsLine(
  host: string | readonly string[],
  port: number,
  key: PublicKey,
  options: { hash?: boolean } = {},
): string {
  // OpenSSH stores names in lower case (hostfile.c write_host_entry); hashed, each name gets its own line.
  const names = (typeof host === 'string' ? [host] : host).map((name) => knownHostsName(name.toLowerCase(), port));
  if (options.hash) return names.map((name) => `${hashHostName(name)} ${key.toLine()}`).join('\n');
  return `${names.join(',')} ${key.toLine()}`;
}
