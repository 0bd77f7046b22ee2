/**
 * The registry of key-exchange methods: their hash, how their messages carry public values and K, and their
 * key agreement. Adding a method is one entry here; the flows in src/transport/kex-flow.ts only read these
 * properties.
 */
import {
  dhAgreement,
  ecdhAgreement,
  keyPairAgreement,
  modpGroup,
  x25519Agreement,
  type HashName,
  type KeyAgreementMethod,
} from './key-agreement.ts';
import { hybridKemAgreement } from './hybrid.ts';
import { mlkem768, mlkem768Available, sntrup761 } from './kem.ts';

export type { HashName };

export interface KexMethod {
  readonly name: string;
  readonly hash: HashName;
  /**
   * `direct`: one round trip, INIT (30) then REPLY (31): SSH_MSG_KEXDH_* (RFC 4253 §8), SSH_MSG_KEX_ECDH_*
   * (RFC 5656 §4, RFC 8731) and SSH_MSG_KEX_HYBRID_* (draft-ietf-sshm-mlkem-hybrid-kex §2) share the numbers.
   * `dh-gex`: the group is negotiated first (RFC 4419); the agreement comes from the group.
   */
  readonly flow: 'direct' | 'dh-gex';
  /** Public values are mpints in finite-field DH (RFC 4253 §8), strings otherwise. */
  readonly publicEncoding: 'mpint' | 'string';
  /**
   * K in the exchange hash and key derivation: an mpint (RFC 4253 §7.2, §8) for DH and ECDH, a string for the
   * hybrids, whose K is already a hash output (draft-ietf-sshm-mlkem-hybrid-kex §2; OpenSSH's kexsntrup761x25519.c).
   */
  readonly secretEncoding: 'mpint' | 'string';
  /** For the direct flow. */
  readonly agreement?: KeyAgreementMethod;
}

const fixedGroup = (name: 'modp14' | 'modp16' | 'modp18'): KeyAgreementMethod =>
  keyPairAgreement(() => {
    const { prime, generator } = modpGroup(name);
    return dhAgreement(prime, generator);
  });

const ecdh = (hash: HashName, agreement: KeyAgreementMethod) =>
  ({ hash, flow: 'direct', publicEncoding: 'string', secretEncoding: 'mpint', agreement }) as const;
const dh = (hash: HashName, agreement?: KeyAgreementMethod) =>
  ({ hash, flow: agreement ? 'direct' : 'dh-gex', publicEncoding: 'mpint', secretEncoding: 'mpint', agreement }) as const;
const hybrid = (hash: HashName, agreement: KeyAgreementMethod) =>
  ({ hash, flow: 'direct', publicEncoding: 'string', secretEncoding: 'string', agreement }) as const;

const x25519 = keyPairAgreement(x25519Agreement);
const sntrup = hybridKemAgreement(sntrup761(), 'sha512');

const MLKEM768X25519 = 'mlkem768x25519-sha256';

/** OpenSSH 10's order (kex.h KEX_SERVER_KEX / KEX_CLIENT_KEX), after mlkem768x25519-sha256 when this build has it. */
const METHOD_LIST: KexMethod[] = [
  { name: 'sntrup761x25519-sha512', ...hybrid('sha512', sntrup) },
  { name: 'sntrup761x25519-sha512@openssh.com', ...hybrid('sha512', sntrup) },
  { name: 'curve25519-sha256', ...ecdh('sha256', x25519) },
  { name: 'curve25519-sha256@libssh.org', ...ecdh('sha256', x25519) },
  { name: 'ecdh-sha2-nistp256', ...ecdh('sha256', keyPairAgreement(() => ecdhAgreement('nistp256'))) },
  { name: 'ecdh-sha2-nistp384', ...ecdh('sha384', keyPairAgreement(() => ecdhAgreement('nistp384'))) },
  { name: 'ecdh-sha2-nistp521', ...ecdh('sha512', keyPairAgreement(() => ecdhAgreement('nistp521'))) },
  { name: 'diffie-hellman-group-exchange-sha256', ...dh('sha256') },
  { name: 'diffie-hellman-group16-sha512', ...dh('sha512', fixedGroup('modp16')) },
  { name: 'diffie-hellman-group18-sha512', ...dh('sha512', fixedGroup('modp18')) },
  { name: 'diffie-hellman-group14-sha256', ...dh('sha256', fixedGroup('modp14')) },
];

/**
 * The methods by name, in order. Node 22 has no ML-KEM: then its method is neither offered nor listed (`ssh -Q
 * kex`). Finding out takes a trial of node:crypto (kem.ts, about 2 ms), so it is asked only when that method
 * is looked up or the whole list is read, not at start-up: a connection that does not propose it never pays
 * (issue 17).
 */
class KexMethods implements ReadonlyMap<string, KexMethod> {
  readonly #others = new Map(METHOD_LIST.map((m) => [m.name, m]));
  #all: Map<string, KexMethod> | undefined;

  #everything(): Map<string, KexMethod> {
    if (this.#all === undefined) {
      const mlkem: KexMethod[] = mlkem768Available() ? [{ name: MLKEM768X25519, ...hybrid('sha256', hybridKemAgreement(mlkem768(), 'sha256')) }] : [];
      this.#all = new Map([...mlkem, ...METHOD_LIST].map((m) => [m.name, m]));
    }
    return this.#all;
  }

  has(name: string): boolean {
    return name === MLKEM768X25519 ? mlkem768Available() : this.#others.has(name);
  }

  get(name: string): KexMethod | undefined {
    return name === MLKEM768X25519 ? this.#everything().get(name) : this.#others.get(name);
  }

  get size(): number {
    return this.#everything().size;
  }

  keys(): MapIterator<string> {
    return this.#everything().keys();
  }

  values(): MapIterator<KexMethod> {
    return this.#everything().values();
  }

  entries(): MapIterator<[string, KexMethod]> {
    return this.#everything().entries();
  }

  [Symbol.iterator](): MapIterator<[string, KexMethod]> {
    return this.entries();
  }

  forEach(callback: (value: KexMethod, key: string, map: ReadonlyMap<string, KexMethod>) => void, thisArg?: unknown): void {
    for (const [name, method] of this.#everything()) callback.call(thisArg, method, name, this);
  }
}

export const KEX_METHODS: ReadonlyMap<string, KexMethod> = new KexMethods();

/** Our default order when nothing is configured: every method we implement, in OpenSSH 10's order. */
export function defaultKex(): string[] {
  return [...KEX_METHODS.keys()];
}

/** Pseudo-algorithms announced in the kex list (RFC 8308 §2.1; OpenSSH PROTOCOL §1.9 strict kex). */
export const EXT_INFO_CLIENT = 'ext-info-c';
export const EXT_INFO_SERVER = 'ext-info-s';
export const STRICT_KEX_CLIENT = 'kex-strict-c-v00@openssh.com';
export const STRICT_KEX_SERVER = 'kex-strict-s-v00@openssh.com';

export { dhAgreement, keyPairAgreement, modpGroup };
