// Algorithm lists for Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms, PubkeyAcceptedAlgorithms,
// HostbasedAcceptedAlgorithms and CASignatureAlgorithms, resolved the way OpenSSH 9.2 does
// (kex.c kex_assemble_names): an explicit list replaces the default, "+list" appends to it, "-list" removes
// from it and "^list" puts names at its head; names may be wildcard patterns over everything supported.
//
// The defaults and the "supported" lists are those of OpenSSH 9.2p1 as built by Debian 12 (`sshd -T` with an
// empty config and `ssh -Q cipher|mac|kex|key-sig|sig`), so results compare line for line with that sshd.
import { matchPatternList } from '../../match/addresses.ts';

const list = (s: string): readonly string[] => Object.freeze(s.split(','));
/**
 * OpenSSH 9.9+'s mlkem768x25519-sha256 is accepted too (9.2's defaults stay as they are); on a Node without
 * ML-KEM the server drops it like any name it does not implement (src/server/algorithms.ts).
 */
const MLKEM = ',mlkem768x25519-sha256';

export const SUPPORTED = {
  ciphers: list(
    '3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,' +
      'aes256-gcm@openssh.com,chacha20-poly1305@openssh.com',
  ),
  macs: list(
    'hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,' +
      'umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,' +
      'hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,' +
      'umac-128-etm@openssh.com',
  ),
  kex: list(
    'diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,' +
      'diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,' +
      'diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,' +
      'curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com' +
      MLKEM,
  ),
  /** Key and signature algorithm names, certificates included (`ssh -Q key-sig`). */
  keys: list(
    'ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,' +
      'ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,' +
      'ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,' +
      'sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,' +
      'webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,' +
      'ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,' +
      'rsa-sha2-512-cert-v01@openssh.com',
  ),
  /** Signature algorithms without certificates (`ssh -Q sig`), the universe for CASignatureAlgorithms. */
  signatures: list(
    'ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,' +
      'sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-rsa,' +
      'rsa-sha2-256,rsa-sha2-512',
  ),
};

const DEFAULT_KEY_ALGORITHMS = list(
  'ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,' +
    'ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,' +
    'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,' +
    'rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,' +
    'sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256',
);

export const DEFAULTS = {
  ciphers: list(
    'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com',
  ),
  macs: list(
    'umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,' +
      'hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1',
  ),
  kex: list(
    'sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,' +
      'ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,' +
      'diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256',
  ),
  hostKeys: DEFAULT_KEY_ALGORITHMS,
  pubkeys: DEFAULT_KEY_ALGORITHMS,
  hostbased: DEFAULT_KEY_ALGORITHMS,
  caSignatures: list(
    'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,' +
      'sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256',
  ),
};

/** Which algorithm family a keyword configures. */
export type AlgorithmFamily = 'ciphers' | 'macs' | 'kex' | 'hostKeys' | 'pubkeys' | 'hostbased' | 'caSignatures';

function universe(family: AlgorithmFamily): readonly string[] {
  switch (family) {
    case 'ciphers':
      return SUPPORTED.ciphers;
    case 'macs':
      return SUPPORTED.macs;
    case 'kex':
      return SUPPORTED.kex;
    case 'caSignatures':
      return SUPPORTED.signatures;
    default:
      return SUPPORTED.keys;
  }
}

/** kex_names_cat: `a` followed by the names of `b` not already in it. */
function concatNames(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a];
  for (const name of b) if (name !== '' && !out.includes(name)) out.push(name);
  return out;
}

/** The names of `all` that match `pattern` (match_filter_allowlist), in `all`'s order. */
function allowed(all: readonly string[], pattern: string): string[] {
  return all.filter((name) => matchPatternList(name, pattern) === 1);
}

/**
 * kex_assemble_names: the effective list for a configured value (undefined = default). Returns null when
 * nothing remains or a negated pattern is used in a list that is not a removal (sshd then fails to start).
 */
export function assembleAlgorithms(family: AlgorithmFamily, spec: string | undefined): string[] | null {
  const def = DEFAULTS[family];
  const all = universe(family);
  if (spec === undefined || spec === '') return [...def];
  let names: string[];
  if (spec.startsWith('-')) {
    const remove = spec.slice(1);
    return def.filter((name) => matchPatternList(name, remove) !== 1);
  } else if (spec.startsWith('+')) {
    names = concatNames(def, spec.slice(1).split(','));
  } else if (spec.startsWith('^')) {
    names = concatNames(spec.slice(1).split(','), def);
  } else {
    names = spec.split(',');
  }
  // Patterns in the list are expanded against everything supported; unknown names simply drop out.
  let result: string[] = [];
  for (const pattern of names) {
    if (pattern.startsWith('!')) return null;
    result = concatNames(result, allowed(all, pattern));
  }
  return result.length > 0 ? result : null;
}

/**
 * Whether a value for this family passes sshd's parse-time check (ciphers_valid, mac_valid,
 * kex_names_valid, sshkey_names_valid2): every name up to the first empty element must be known, and key
 * algorithm lists may instead hold a pattern that matches (or negates) some key type. A "-" removal list is
 * never checked.
 */
export function algorithmSpecValid(family: AlgorithmFamily, spec: string): boolean {
  if (spec.startsWith('-')) return true;
  const body = spec.startsWith('+') || spec.startsWith('^') ? spec.slice(1) : spec;
  if (body === '') return false;
  const keyFamily = family === 'hostKeys' || family === 'pubkeys' || family === 'hostbased' || family === 'caSignatures';
  const all = keyFamily ? SUPPORTED.keys : universe(family);
  for (const name of body.split(',')) {
    if (name === '') break; // sshd stops checking at an empty element
    const ok = keyFamily ? all.some((a) => matchPatternList(a, name) !== 0) : all.includes(name);
    if (!ok) return false;
  }
  return true;
}
