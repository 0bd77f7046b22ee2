/**
 * Host-key verification as ssh(1) does it (ssh(1) "VERIFYING HOST KEYS", sshconnect.c semantics): known_hosts
 * lookup, StrictHostKeyChecking, the first-connection question, the changed-key warning naming the offending
 * file and line, and recording accepted keys. Prompting and printing are injected so the same policy serves
 * the CLI and embedding programs.
 */
import { ipFamily } from '../match/addresses.ts';
import type { PublicKey } from '../keys/types.ts';
import type { PeerAddress } from '../transport/transport.ts';
import type { ConnectTarget } from './address-list.ts';
import { checkHostKey, entryMatchesName, type KnownHostsEntry } from '../keys/known-hosts.ts';
import { appendKnownHost, readKnownHostsFile } from '../keys/known-hosts-file.ts';
import { fingerprint, keyTypeLabel } from '../keys/fingerprint.ts';
import { knownHostsName } from '../keys/host-patterns.ts';

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no' | 'ask';

/**
 * How a host key came to be accepted, which decides whether UpdateHostKeys may act (sshconnect.c
 * check_host_key): only a key found in a UserKnownHostsFile under this host's name ('known') or one the
 * user confirmed at the question ('confirmed') is trusted enough to vouch for the server's other keys.
 */
export type HostKeyAcceptance = 'known' | 'confirmed' | 'global-file' | 'command' | 'without-port' | 'added' | 'changed' | 'alternate';

export interface HostKeyPolicyOptions {
  /** The name the user connected to (after HostName). */
  host: string;
  port: number;
  /**
   * HostKeyAlias: the name keys are looked up and recorded under instead of the host, as given, without
   * a port (sshconnect.c get_hostfile_hostname_ipaddr uses the bare alias whatever the port).
   */
  hostKeyAlias?: string;
  strict: StrictHostKeyChecking;
  /** UserKnownHostsFile entries; the first is where new keys are recorded. */
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hashKnownHosts?: boolean;
  /** FingerprintHash. */
  fingerprintHash?: 'sha256' | 'md5';
  /** CheckHostIP: also record and check the server's address (ignored for address literals and aliases). */
  checkHostIP?: boolean;
  /** Asks a question on the terminal and returns the answer, or undefined when no terminal is available. */
  ask?: (question: string) => Promise<string | undefined>;
  /** Prints an error-level diagnostic (ssh's error(): the changed-key warning, strict-checking refusals). */
  warn: (message: string) => void;
  /** Prints an INFO-level message (ssh's logit(): "Warning: Permanently added ..."); default: `warn`. */
  info?: (message: string) => void;
  /**
   * KnownHostsCommand: more known_hosts entries for one lookup (`name` is the known_hosts name being checked,
   * `key` the key the server presented). Entries it provides are never written back.
   */
  knownHostsCommand?: (invocation: 'HOSTNAME' | 'ADDRESS', name: string, key: PublicKey) => Promise<KnownHostsEntry[]>;
  /** Told how the key was accepted and the address CheckHostIP checked, if any (for UpdateHostKeys). */
  onAccepted?: (how: HostKeyAcceptance, address: string | undefined) => void;
}

/** The name and port keys are looked up under: HostKeyAlias alone, else the host with its port. */
function lookupName(options: Pick<HostKeyPolicyOptions, 'host' | 'port' | 'hostKeyAlias'>): { host: string; port: number } {
  return options.hostKeyAlias !== undefined ? { host: options.hostKeyAlias, port: 22 } : { host: options.host, port: options.port };
}

/** Loopback peers: ssh does not check or record their address (sockaddr_is_local). */
function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

/** The server's host key was not accepted ("Host key verification failed."). */
export class HostKeyVerificationError extends Error {
  override readonly name = 'HostKeyVerificationError';
  constructor() {
    super('Host key verification failed.');
  }
}

function changedKeyWarning(options: HostKeyPolicyOptions, key: PublicKey, offending: { file: string; line: number; type: string }): string {
  const label = keyTypeLabel(key.type);
  const lookup = lookupName(options);
  const name = knownHostsName(lookup.host, lookup.port);
  const files = [...options.userKnownHostsFiles, ...options.globalKnownHostsFiles];
  return [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
    'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
    'It is also possible that a host key has just been changed.',
    `The fingerprint for the ${label} key sent by the remote host is`,
    `${fingerprint(key.blob, options.fingerprintHash ?? 'sha256')}.`,
    'Please contact your system administrator.',
    ...(files.length > 0 ? [`Add correct host key in ${files[0]} to get rid of this message.`] : []),
    `Offending ${keyTypeLabel(offending.type as PublicKey['type'])} key in ${offending.file}:${offending.line}`,
    '  remove with:',
    `  ssh-keygen -f "${offending.file}" -R "${name}"`,
  ].join('\n');
}

/** Loads every known_hosts entry from the configured files (missing files are empty). */
export function loadKnownHosts(options: Pick<HostKeyPolicyOptions, 'userKnownHostsFiles' | 'globalKnownHostsFiles'>): KnownHostsEntry[] {
  return [...options.userKnownHostsFiles, ...options.globalKnownHostsFiles].flatMap((file) => readKnownHostsFile(file));
}

/**
 * Host-key algorithms reordered as ssh does (sshconnect2.c order_hostkeyalgs), so a known host is not asked
 * to prove a key type we have never seen: kept as they are when a key of the first algorithm's type is known,
 * else the algorithms of known types first, each part in its configured order. `extra` holds entries from
 * KnownHostsCommand.
 */
export function preferKnownHostKeyTypes(
  algorithms: string[],
  options: Pick<HostKeyPolicyOptions, 'host' | 'port' | 'hostKeyAlias' | 'userKnownHostsFiles' | 'globalKnownHostsFiles'>,
  extra: readonly KnownHostsEntry[] = [],
): string[] {
  const lookup = lookupName(options);
  const name = knownHostsName(lookup.host, lookup.port);
  const known = new Set(
    [...loadKnownHosts(options), ...extra]
      .filter((entry) => entry.marker === undefined && entryMatchesName(entry, name))
      .map((entry) => entry.key.type),
  );
  if (known.size === 0) return algorithms;
  const keyTypeOf = (alg: string) => (alg.startsWith('rsa-sha2-') ? 'ssh-rsa' : alg);
  const isKnown = (alg: string) => known.has(keyTypeOf(alg) as PublicKey['type']);
  if (algorithms[0] !== undefined && isKnown(algorithms[0])) return algorithms;
  const first = algorithms.filter(isKnown);
  return [...first, ...algorithms.filter((alg) => !first.includes(alg))];
}

/**
 * The policy for one of the host's alternates (connect()'s failover, address-list.ts). The host itself on a
 * first, attended connection is checked exactly as ssh checks it. Any other alternate — or any name when no
 * one can answer (a reconnect) — is accepted only with a known key: a question becomes a refusal under strict
 * checking, unless StrictHostKeyChecking is off. An alternate's key may be known under its own name or under
 * the host's (alternates sharing the host's keys); with HostKeyAlias, under the alias alone, as ssh does.
 */
function policyFor(options: HostKeyPolicyOptions, target: ConnectTarget | undefined): { policy: HostKeyPolicyOptions; sharedName: string | undefined } {
  if (!target) return { policy: options, sharedName: undefined };
  const isAlternate = target.index > 0 && target.name !== options.host;
  const strict = (isAlternate || target.unattended) && options.strict !== 'no' ? 'yes' : options.strict;
  // UpdateHostKeys acts for the host itself only: an alternate's keys are not the host's to replace.
  const onAccepted = isAlternate && options.onAccepted
    ? (how: HostKeyAcceptance, address: string | undefined) => options.onAccepted!(how === 'known' || how === 'confirmed' ? 'alternate' : how, address)
    : options.onAccepted;
  const policy = { ...options, host: isAlternate ? target.name : options.host, strict, onAccepted };
  return { policy, sharedName: isAlternate && options.hostKeyAlias === undefined ? options.host : undefined };
}

/**
 * Returns a verifyHostKey callback for connect() implementing the policy; `target` (from connect()) names
 * the alternate being checked.
 */
export function hostKeyVerifier(options: HostKeyPolicyOptions): (key: PublicKey, algorithm: string, peer?: PeerAddress, target?: ConnectTarget) => Promise<void> {
  return (key, _algorithm, peer, target) => {
    const { policy, sharedName } = policyFor(options, target);
    return verifyHostKeyWith(policy, key, peer, sharedName);
  };
}

async function verifyHostKeyWith(options: HostKeyPolicyOptions, key: PublicKey, peer: PeerAddress | undefined, sharedName: string | undefined): Promise<void> {
  const info = options.info ?? options.warn;
  const lookup = lookupName(options);
  const name = knownHostsName(lookup.host, lookup.port);
  const fromFiles = loadKnownHosts(options);
  const fromCommand = (await options.knownHostsCommand?.('HOSTNAME', name, key)) ?? [];
  const entries = [...fromFiles, ...fromCommand];
  let check = checkHostKey(entries, [lookup.host], lookup.port, key);
  // An alternate holding the host's own key (shared keys) is accepted under the host's name; only its own
  // entries can make its key "changed", and nothing is recorded for it.
  if (sharedName !== undefined && check.status !== 'known' && check.status !== 'revoked') {
    const shared = checkHostKey(entries, [sharedName], options.port, key);
    if (shared.status === 'known' || shared.status === 'revoked') check = shared;
    if (shared.status === 'known') {
      options.onAccepted?.('alternate', undefined);
      return;
    }
  }
  const address = options.checkHostIP && peer?.address && !isLoopback(peer.address) && ipFamily(options.host) === 0 ? peer.address : undefined;
  const label = keyTypeLabel(key.type);
  const print = fingerprint(key.blob, options.fingerprintHash ?? 'sha256');
  // Nothing is written when there is no file to write to, or when KnownHostsCommand vouched for the key.
  const readonly = options.userKnownHostsFiles.length === 0
    || (check.status === 'known' && check.matches.every((match) => fromCommand.some((e) => e.file === match.file)));

  if (check.status === 'known') {
    if (address) {
      const forAddress = (await options.knownHostsCommand?.('ADDRESS', knownHostsName(address, options.port), key)) ?? [];
      await checkAddress(options, [...entries, ...forAddress], key, address, readonly);
    }
    // ssh takes the first entry holding the key, user files before global ones before the command's.
    const first = check.matches[0]!.file;
    const origin = options.userKnownHostsFiles.includes(first) && !fromCommand.some((e) => e.file === first) ? 'known'
      : options.globalKnownHostsFiles.includes(first) ? 'global-file' : 'command';
    options.onAccepted?.(origin, address);
    return;
  }
  if (check.status === 'revoked') {
    options.warn(
      [
        '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
        '@       WARNING: REVOKED HOST KEY DETECTED!               @',
        '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
        `The ${label} host key for ${name} is marked as revoked.`,
        'This could mean that a stolen key is being used to',
        'impersonate this host.',
      ].join('\n'),
    );
    throw new HostKeyVerificationError();
  }
  // Only a known key of the same type makes the key "changed"; keys of other types leave the host new
  // (hostfile.c check_hostkeys_by_key_or_type).
  const sameType = check.matches.filter((match) => match.type === key.type);
  if (check.status === 'changed' && sameType.length > 0) {
    options.warn(changedKeyWarning(options, key, sameType[0]!));
    if (options.strict === 'no') {
      options.warn('Password authentication is disabled to avoid man-in-the-middle attacks.');
      options.onAccepted?.('changed', address);
      return;
    }
    options.warn(`Host key for ${name} has changed and you have requested strict checking.`);
    throw new HostKeyVerificationError();
  }

  // A host new under [host]:port is looked up once more without the port (sshconnect.c check_host_key,
  // "checking without port identifier"): a key recorded for the bare name is accepted, read-only, and
  // nothing is written. Only the files count, not KnownHostsCommand; HostKeyAlias has no port to drop.
  if (options.hostKeyAlias === undefined && options.port !== 22 && options.port !== 0) {
    if (checkHostKey(fromFiles, [options.host], 22, key).status === 'known') return options.onAccepted?.('without-port', address);
  }

  // Unknown host: recorded under its name, and its address with CheckHostIP, on one line as ssh does.
  if (readonly) throw new HostKeyVerificationError();
  const record = () => {
    // The name (HostKeyAlias bare) and the address with the real port, each already in known_hosts form.
    const names = address ? [name, knownHostsName(address, options.port)] : [name];
    const shown = names.join(',');
    try {
      appendKnownHost(options.userKnownHostsFiles[0]!, names, 22, key, { hash: options.hashKnownHosts });
    } catch {
      info(`Failed to add the host to the list of known hosts (${options.userKnownHostsFiles[0]}).`);
      return;
    }
    info(`Warning: Permanently added '${shown}' (${label}) to the list of known hosts.`);
  };
  if (options.strict === 'yes') {
    options.warn(`No ${label} host key is known for ${name} and you have requested strict checking.`);
    throw new HostKeyVerificationError();
  }
  if (options.strict === 'accept-new' || options.strict === 'no') {
    options.onAccepted?.('added', address);
    return record();
  }

  const question = [
    `The authenticity of host '${name} (${peer?.address ? knownHostsName(peer.address, options.port) : '<no hostip for proxy command>'})' can't be established${check.status === 'changed' ? '\nbut keys of different type are already known for this host.' : '.'}`,
    `${label} key fingerprint is ${print}.`,
    'This key is not known by any other names.',
    'Are you sure you want to continue connecting (yes/no/[fingerprint])? ',
  ].join('\n');
  let answer = await options.ask?.(question);
  // Bounded: a user who keeps typing something else is asked again a few times, then refused.
  for (let attempt = 0; answer !== undefined && attempt < 10; attempt++) {
    const trimmed = answer.trim();
    if (/^yes$/i.test(trimmed) || trimmed === print) {
      options.onAccepted?.('confirmed', address);
      return record();
    }
    if (/^no$/i.test(trimmed)) break;
    answer = await options.ask!("Please type 'yes', 'no' or the fingerprint: ");
  }
  throw new HostKeyVerificationError();
}

/**
 * CheckHostIP for a host whose key is known: an address never seen is recorded; an address known with a
 * different key is reported (possible DNS spoofing) and, under strict checking, refused.
 */
async function checkAddress(options: HostKeyPolicyOptions, entries: KnownHostsEntry[], key: PublicKey, address: string, readonly: boolean): Promise<void> {
  const label = keyTypeLabel(key.type);
  const ip = knownHostsName(address, options.port);
  const check = checkHostKey(entries, [address], options.port, key);
  if (check.status === 'unknown') {
    if (readonly) return;
    appendKnownHost(options.userKnownHostsFiles[0]!, [address], options.port, key, { hash: options.hashKnownHosts });
    (options.info ?? options.warn)(`Warning: Permanently added the ${label} host key for IP address '${ip}' to the list of known hosts.`);
    return;
  }
  if (check.status !== 'changed') return;
  const offending = check.matches[0]!;
  options.warn(
    [
      `Warning: the ${label} host key for '${knownHostsName(lookupName(options).host, lookupName(options).port)}' differs from the key for the IP address '${ip}'`,
      `Offending key for IP in ${offending.file}:${offending.line}`,
    ].join('\n'),
  );
  if (options.strict === 'yes') {
    options.warn('Exiting, you have requested strict checking.');
    throw new HostKeyVerificationError();
  }
  if (options.strict === 'ask') {
    const answer = await options.ask?.('Are you sure you want to continue connecting (yes/no)? ');
    if (!/^yes$/i.test(answer?.trim() ?? '')) throw new HostKeyVerificationError();
  }
}
