/**
 * The registry of key-exchange methods: their hash, how their messages carry public values, and how to make
 * a key agreement. Adding a method (e.g. post-quantum hybrids later) is one entry here plus, if it needs new
 * messages, a flow in src/transport/kex-flow.ts.
 */
import { dhAgreement, ecdhAgreement, modpGroup, x25519Agreement, type KeyAgreement } from './key-agreement.ts';

export type HashName = 'sha256' | 'sha384' | 'sha512';

export interface KexMethod {
  readonly name: string;
  readonly hash: HashName;
  /**
   * `ecdh`: one round trip with public values as strings (RFC 5656 §4, RFC 8731).
   * `dh`: one round trip with e/f as mpints over a fixed group (RFC 4253 §8).
   * `dh-gex`: the group is negotiated first (RFC 4419).
   */
  readonly flow: 'ecdh' | 'dh' | 'dh-gex';
  /** For ecdh and dh flows: a fresh agreement. */
  readonly agreement?: () => KeyAgreement;
}

const fixedGroup = (name: 'modp14' | 'modp16' | 'modp18') => () => {
  const { prime, generator } = modpGroup(name);
  return dhAgreement(prime, generator);
};

const METHOD_LIST: KexMethod[] = [
  { name: 'curve25519-sha256', hash: 'sha256', flow: 'ecdh', agreement: x25519Agreement },
  { name: 'curve25519-sha256@libssh.org', hash: 'sha256', flow: 'ecdh', agreement: x25519Agreement },
  { name: 'ecdh-sha2-nistp256', hash: 'sha256', flow: 'ecdh', agreement: () => ecdhAgreement('nistp256') },
  { name: 'ecdh-sha2-nistp384', hash: 'sha384', flow: 'ecdh', agreement: () => ecdhAgreement('nistp384') },
  { name: 'ecdh-sha2-nistp521', hash: 'sha512', flow: 'ecdh', agreement: () => ecdhAgreement('nistp521') },
  { name: 'diffie-hellman-group-exchange-sha256', hash: 'sha256', flow: 'dh-gex' },
  { name: 'diffie-hellman-group16-sha512', hash: 'sha512', flow: 'dh', agreement: fixedGroup('modp16') },
  { name: 'diffie-hellman-group18-sha512', hash: 'sha512', flow: 'dh', agreement: fixedGroup('modp18') },
  { name: 'diffie-hellman-group14-sha256', hash: 'sha256', flow: 'dh', agreement: fixedGroup('modp14') },
];

export const KEX_METHODS: ReadonlyMap<string, KexMethod> = new Map(METHOD_LIST.map((m) => [m.name, m]));

/** Our default order: OpenSSH 9's, minus the methods we do not implement (sntrup761x25519-sha512@openssh.com). */
export const DEFAULT_KEX = METHOD_LIST.map((m) => m.name);

/** Pseudo-algorithms announced in the kex list (RFC 8308 §2.1; OpenSSH PROTOCOL §1.9 strict kex). */
export const EXT_INFO_CLIENT = 'ext-info-c';
export const EXT_INFO_SERVER = 'ext-info-s';
export const STRICT_KEX_CLIENT = 'kex-strict-c-v00@openssh.com';
export const STRICT_KEX_SERVER = 'kex-strict-s-v00@openssh.com';

export { dhAgreement, modpGroup };
