/**
 * Host-key verification as ssh(1) does it (ssh(1) "VERIFYING HOST KEYS", sshconnect.c semantics): known_hosts
 * lookup, StrictHostKeyChecking, the first-connection question, the changed-key warning naming the offending
 * file and line, and recording accepted keys. Prompting and printing are injected so the same policy serves
 * the CLI and embedding programs.
 */
import { isIP } from 'node:net';
import type { PublicKey } from '../keys/types.ts';
import type { PeerAddress } from '../transport/transport.ts';
import { checkHostKey, entryMatchesName, type KnownHostsEntry } from '../keys/known-hosts.ts';
import { appendKnownHost, readKnownHostsFile } from '../keys/known-hosts-file.ts';
import { fingerprint, keyTypeLabel } from '../keys/fingerprint.ts';
import { knownHostsName } from '../keys/host-patterns.ts';

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no' | 'ask';

export interface HostKeyPolicyOptions {
  /** The name the user connected to (HostKeyAlias when set). */
  host: string;
  port: number;
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
  /** Prints a diagnostic line to the user (stderr). */
  warn: (message: string) => void;
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
  const name = knownHostsName(options.host, options.port);
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
    `Add correct host key in ${options.userKnownHostsFiles[0]} to get rid of this message.`,
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
 * Host-key algorithms reordered so that types already known for this host come first, as ssh does
 * (order_hostkeyalgs), so a known host is not asked to prove a key type we have never seen.
 */
export function preferKnownHostKeyTypes(algorithms: string[], options: Pick<HostKeyPolicyOptions, 'host' | 'port' | 'userKnownHostsFiles' | 'globalKnownHostsFiles'>): string[] {
  const name = knownHostsName(options.host, options.port);
  const known = new Set(
    loadKnownHosts(options)
      .filter((entry) => entry.marker === undefined && entryMatchesName(entry, name))
      .map((entry) => entry.key.type),
  );
  if (known.size === 0) return algorithms;
  const keyTypeOf = (alg: string) => (alg.startsWith('rsa-sha2-') ? 'ssh-rsa' : alg);
  const first = algorithms.filter((alg) => known.has(keyTypeOf(alg) as PublicKey['type']));
  return [...first, ...algorithms.filter((alg) => !first.includes(alg))];
}

/** Returns a verifyHostKey callback for connect() implementing the policy. */
export function hostKeyVerifier(options: HostKeyPolicyOptions): (key: PublicKey, algorithm: string, peer?: PeerAddress) => Promise<void> {
  return async (key, _algorithm, peer) => {
    const entries = loadKnownHosts(options);
    const check = checkHostKey(entries, [options.host], options.port, key);
    const address = options.checkHostIP && peer?.address && isIP(options.host) === 0 ? peer.address : undefined;
    const label = keyTypeLabel(key.type);
    const name = knownHostsName(options.host, options.port);
    const print = fingerprint(key.blob, options.fingerprintHash ?? 'sha256');

    if (check.status === 'known') {
      if (address) await checkAddress(options, entries, key, address);
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
    if (check.status === 'changed') {
      options.warn(changedKeyWarning(options, key, check.matches[0]!));
      if (options.strict === 'no') {
        options.warn('Password authentication is disabled to avoid man-in-the-middle attacks.');
        return;
      }
      options.warn(`Host key for ${name} has changed and you have requested strict checking.`);
      throw new HostKeyVerificationError();
    }

    // Unknown host: recorded under its name, and its address with CheckHostIP, on one line as ssh does.
    const record = () => {
      const names = address ? [options.host, address] : [options.host];
      appendKnownHost(options.userKnownHostsFiles[0]!, names, options.port, key, { hash: options.hashKnownHosts });
      const shown = names.map((n) => knownHostsName(n, options.port)).join(',');
      options.warn(`Warning: Permanently added '${shown}' (${label}) to the list of known hosts.`);
    };
    if (options.strict === 'yes') {
      options.warn(`No ${label} host key is known for ${name} and you have requested strict checking.`);
      throw new HostKeyVerificationError();
    }
    if (options.strict === 'accept-new' || options.strict === 'no') return record();

    const question = [
      `The authenticity of host '${name} (${name})' can't be established.`,
      `${label} key fingerprint is ${print}.`,
      'This key is not known by any other names.',
      'Are you sure you want to continue connecting (yes/no/[fingerprint])? ',
    ].join('\n');
    let answer = await options.ask?.(question);
    // Bounded: a user who keeps typing something else is asked again a few times, then refused.
    for (let attempt = 0; answer !== undefined && attempt < 10; attempt++) {
      const trimmed = answer.trim();
      if (/^yes$/i.test(trimmed) || trimmed === print) return record();
      if (/^no$/i.test(trimmed)) break;
      answer = await options.ask!("Please type 'yes', 'no' or the fingerprint: ");
    }
    throw new HostKeyVerificationError();
  };
}

/**
 * CheckHostIP for a host whose key is known: an address never seen is recorded; an address known with a
 * different key is reported (possible DNS spoofing) and, under strict checking, refused.
 */
async function checkAddress(options: HostKeyPolicyOptions, entries: KnownHostsEntry[], key: PublicKey, address: string): Promise<void> {
  const label = keyTypeLabel(key.type);
  const ip = knownHostsName(address, options.port);
  const check = checkHostKey(entries, [address], options.port, key);
  if (check.status === 'unknown') {
    appendKnownHost(options.userKnownHostsFiles[0]!, [address], options.port, key, { hash: options.hashKnownHosts });
    options.warn(`Warning: Permanently added the ${label} host key for IP address '${ip}' to the list of known hosts.`);
    return;
  }
  if (check.status !== 'changed') return;
  const offending = check.matches[0]!;
  options.warn(
    [
      `Warning: the ${label} host key for '${knownHostsName(options.host, options.port)}' differs from the key for the IP address '${ip}'`,
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
