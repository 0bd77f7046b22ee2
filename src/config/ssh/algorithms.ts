/**
 * Algorithm-list options (Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms, PubkeyAcceptedAlgorithms,
 * HostbasedAcceptedAlgorithms, CASignatureAlgorithms) and their `+` append, `-` remove (patterns) and
 * `^` prepend modifiers, relative to OpenSSH's defaults.
 *
 * The lists below are facts about the OpenSSH 9.2 client this project interoperates with (Debian 12's
 * build): the defaults are what `ssh -G` prints, the "supported" lists what `ssh -Q` prints. We model
 * OpenSSH's lists, not ours, so that resolution and `-G` output agree with ssh; `implementedSubset()`
 * narrows a resolved list to what Tether implements.
 */
import { matchPatternList } from './patterns.ts';

/**
 * OpenSSH 9.9+ knows mlkem768x25519-sha256, so configurations name it; on a Node without ML-KEM (22) it is
 * accepted and then dropped like any name Tether does not implement (implementedSubset).
 */
const EXTRA_KEX: readonly string[] = ['mlkem768x25519-sha256'];

export type AlgorithmFamily = 'cipher' | 'mac' | 'kex' | 'key' | 'sig';

const SUPPORTED: Record<AlgorithmFamily, readonly string[]> = {
  // ssh -Q cipher
  cipher: [
    '3des-cbc', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr',
    'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com',
  ],
  // ssh -Q mac
  mac: [
    'hmac-sha1', 'hmac-sha1-96', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-md5', 'hmac-md5-96',
    'umac-64@openssh.com', 'umac-128@openssh.com', 'hmac-sha1-etm@openssh.com', 'hmac-sha1-96-etm@openssh.com',
    'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-md5-etm@openssh.com',
    'hmac-md5-96-etm@openssh.com', 'umac-64-etm@openssh.com', 'umac-128-etm@openssh.com',
  ],
  // ssh -Q kex
  kex: [
    'diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1', 'diffie-hellman-group14-sha256',
    'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group-exchange-sha1',
    'diffie-hellman-group-exchange-sha256', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521',
    'curve25519-sha256', 'curve25519-sha256@libssh.org', 'sntrup761x25519-sha512',
    'sntrup761x25519-sha512@openssh.com', ...EXTRA_KEX,
  ],
  // ssh -Q key-sig: every key and signature algorithm, certificates included
  key: [
    'ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com', 'sk-ssh-ed25519@openssh.com',
    'sk-ssh-ed25519-cert-v01@openssh.com', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
    'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp384-cert-v01@openssh.com', 'ecdsa-sha2-nistp521',
    'ecdsa-sha2-nistp521-cert-v01@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
    'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com', 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com', 'ssh-dss',
    'ssh-dss-cert-v01@openssh.com', 'ssh-rsa', 'ssh-rsa-cert-v01@openssh.com', 'rsa-sha2-256',
    'rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-512', 'rsa-sha2-512-cert-v01@openssh.com',
  ],
  // ssh -Q sig: plain (non-certificate) signature algorithms, as CASignatureAlgorithms draws from
  sig: [
    'ssh-ed25519', 'sk-ssh-ed25519@openssh.com', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521', 'sk-ecdsa-sha2-nistp256@openssh.com', 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com',
    'ssh-dss', 'ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512',
  ],
};

const DEFAULT_PUBLIC_KEY_ALGORITHMS = [
  'ssh-ed25519-cert-v01@openssh.com', 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com', 'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com', 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com', 'ssh-ed25519', 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
  'rsa-sha2-512', 'rsa-sha2-256',
];

/** The option each list belongs to, with its family (what names are valid) and default (`ssh -G`). */
export const ALGORITHM_OPTIONS = {
  ciphers: {
    family: 'cipher',
    defaults: [
      'chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com',
      'aes256-gcm@openssh.com',
    ],
  },
  macs: {
    family: 'mac',
    defaults: [
      'umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com',
      'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'umac-64@openssh.com', 'umac-128@openssh.com',
      'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1',
    ],
  },
  kexAlgorithms: {
    family: 'kex',
    defaults: [
      'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org',
      'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521', 'diffie-hellman-group-exchange-sha256',
      'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group14-sha256',
    ],
  },
  hostKeyAlgorithms: { family: 'key', defaults: DEFAULT_PUBLIC_KEY_ALGORITHMS },
  pubkeyAcceptedAlgorithms: { family: 'key', defaults: DEFAULT_PUBLIC_KEY_ALGORITHMS },
  hostbasedAcceptedAlgorithms: { family: 'key', defaults: DEFAULT_PUBLIC_KEY_ALGORITHMS },
  caSignatureAlgorithms: {
    family: 'sig',
    defaults: [
      'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com',
      'sk-ecdsa-sha2-nistp256@openssh.com', 'rsa-sha2-512', 'rsa-sha2-256',
    ],
  },
} as const satisfies Record<string, { family: AlgorithmFamily; defaults: readonly string[] }>;

export type AlgorithmOption = keyof typeof ALGORITHM_OPTIONS;

/** Names OpenSSH 9.2 knows for a family (`ssh -Q`). */
export function supportedAlgorithms(family: AlgorithmFamily): readonly string[] {
  return SUPPORTED[family];
}

/**
 * Parse-time validation, as OpenSSH does it: a `-` list is not checked (it holds patterns); otherwise every
 * name (after a leading `+` or `^`) must be known. Key algorithm lists also accept patterns that match at
 * least one key type. Checking stops at an empty element, as OpenSSH's does.
 */
export function isValidAlgorithmSpec(family: AlgorithmFamily, spec: string): boolean {
  if (spec.startsWith('-')) return true;
  const names = spec.startsWith('+') || spec.startsWith('^') ? spec.slice(1) : spec;
  if (names === '') return false;
  const known = family === 'key' || family === 'sig' ? SUPPORTED.key : SUPPORTED[family];
  for (const name of names.split(',')) {
    if (name === '') break;
    if (known.includes(name)) continue;
    if ((family === 'key' || family === 'sig') && known.some((k) => matchPatternList(k, name, false) !== 0)) continue;
    return false;
  }
  return true;
}

/** Appends names from `b` not already in `a` (OpenSSH's kex_names_cat()). */
function concatNames(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a];
  for (const name of b) {
    if (name === '') break;
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

export class AlgorithmListError extends Error {
  override readonly name = 'AlgorithmListError';
}

/**
 * Turns a configured spec into the final list (kex_assemble_names()): unset → defaults; `+x` → defaults then
 * x; `^x` → x then defaults; `-p` → defaults minus entries matching pattern-list p; otherwise the list as
 * given. Except for `-`, patterns are expanded against every supported name, in OpenSSH's order.
 */
export function assembleAlgorithms(spec: string | undefined, defaults: readonly string[], supported: readonly string[]): string[] {
  if (spec === undefined || spec === '') return [...defaults];
  let list: string[];
  if (spec.startsWith('+')) list = concatNames(defaults, spec.slice(1).split(','));
  else if (spec.startsWith('^')) list = concatNames(spec.slice(1).split(','), defaults);
  else if (spec.startsWith('-')) {
    const patterns = spec.slice(1);
    return defaults.filter((name) => matchPatternList(name, patterns, false) !== 1);
  } else list = spec.split(',');
  let out: string[] = [];
  for (const pattern of list) {
    if (pattern.startsWith('!')) throw new AlgorithmListError('invalid argument');
    out = concatNames(out, supported.filter((name) => matchPatternList(name, pattern, false) === 1));
  }
  if (out.length === 0) throw new AlgorithmListError('invalid argument');
  return out;
}

/** Assembles the final list for one option from its configured spec. */
export function resolveAlgorithmOption(option: AlgorithmOption, spec: string | undefined): string[] {
  const { family, defaults } = ALGORITHM_OPTIONS[option];
  return assembleAlgorithms(spec, defaults, SUPPORTED[family]);
}

/**
 * Keeps the names Tether implements, in the order the configuration prefers them. Use it to build the
 * KEXINIT proposal from a resolved list.
 */
export function implementedSubset(resolved: readonly string[], implemented: Iterable<string> | ReadonlyMap<string, unknown>): string[] {
  // A map is asked name by name: KEX_METHODS learns whether ML-KEM works only when asked about it.
  const ours = 'has' in implemented ? implemented as ReadonlyMap<string, unknown> : new Set(implemented);
  return resolved.filter((name) => ours.has(name));
}

/**
 * OpenSSH 10's client defaults where they differ from 9.2's (myproposal.h): ML-KEM hybrid kex first, and
 * AES-GCM before AES-CTR. MACs and host-key algorithms did not change.
 */
const OPENSSH10_DEFAULTS: Partial<Record<AlgorithmOption, readonly string[]>> = {
  kexAlgorithms: [...EXTRA_KEX, ...ALGORITHM_OPTIONS.kexAlgorithms.defaults],
  ciphers: [
    'chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr',
    'aes256-ctr',
  ],
};

/**
 * The list the client proposes in KEXINIT, from a resolved option. Resolution and `ssh -G` keep OpenSSH
 * 9.2's defaults, so that -G output and the `+`/`-`/`^` arithmetic agree with the ssh this is a drop-in for;
 * but what goes on the wire follows OpenSSH 10: wherever the resolved list holds 9.2's whole default list
 * as one run (the option unset, or names appended with `+` or prepended with `^`), that run becomes OpenSSH
 * 10's list. Anything else was chosen explicitly and is proposed as configured. Then, as implementedSubset.
 */
export function clientProposal(option: AlgorithmOption, resolved: readonly string[], implemented: Iterable<string> | ReadonlyMap<string, unknown>): string[] {
  const modern = OPENSSH10_DEFAULTS[option];
  const defaults: readonly string[] = ALGORITHM_OPTIONS[option].defaults;
  let list = [...resolved];
  if (modern !== undefined) {
    const start = list.indexOf(defaults[0]!);
    const run = start >= 0 && defaults.every((name, i) => list[start + i] === name);
    if (run) {
      const before = list.slice(0, start).filter((name) => !modern.includes(name));
      const after = list.slice(start + defaults.length).filter((name) => !modern.includes(name));
      list = [...before, ...modern, ...after];
    }
  }
  return implementedSubset(list, implemented);
}

/** Debian's GSSAPI key exchange patch: the names GSSAPIKexAlgorithms accepts and its default. */
export const GSSAPI_KEX_SUPPORTED = [
  'gss-gex-sha1-', 'gss-group1-sha1-', 'gss-group14-sha1-', 'gss-group14-sha256-', 'gss-group16-sha512-',
  'gss-nistp256-sha256-', 'gss-curve25519-sha256-',
] as const;
export const GSSAPI_KEX_DEFAULT =
  'gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-';
