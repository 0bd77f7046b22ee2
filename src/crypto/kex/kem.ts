/**
 * Key-encapsulation mechanisms (KEMs) for the hybrid post-quantum kex methods (hybrid.ts): ML-KEM-768
 * (FIPS 203) from node:crypto, and Streamlined NTRU Prime sntrup761 (sntrup761.ts). A KEM is three
 * operations on byte strings: generate a key pair, encapsulate a fresh secret to a public key, decapsulate a
 * ciphertext with the secret key.
 */
import type { KeyObject } from 'node:crypto';
import { ProtocolError } from '../../wire/errors.ts';
import { KEX_FAILED } from './key-agreement.ts';
import {
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761KeyPair,
} from './sntrup761.ts';

export interface KemKeyPair {
  /** The encoded public (encapsulation) key, as it goes on the wire. */
  readonly publicKey: Buffer;
  /** The shared secret for a ciphertext made to `publicKey`; throws ProtocolError on a malformed one. */
  decapsulate(ciphertext: Buffer): Buffer;
}

export interface Kem {
  readonly name: string;
  readonly publicKeyLength: number;
  readonly ciphertextLength: number;
  generate(): KemKeyPair;
  /** A fresh shared secret and its ciphertext for `publicKey`; throws ProtocolError on an invalid key. */
  encapsulate(publicKey: Buffer): { ciphertext: Buffer; sharedSecret: Buffer };
}

/**
 * node:crypto's ML-KEM (Node 24.7+ built with OpenSSL 3.5+). @types/node does not describe these yet, and on
 * older Node the functions are absent: they are looked up at run time, never imported by name.
 */
interface NodeKemApi {
  encapsulate(key: KeyObject): { sharedKey: Buffer; ciphertext: Buffer };
  decapsulate(key: KeyObject, ciphertext: Buffer): Buffer;
  generateKeyPairSync(type: 'ml-kem-768'): { publicKey: KeyObject; privateKey: KeyObject };
  createPublicKey(options: { key: Buffer; format: 'raw-public'; asymmetricKeyType: 'ml-kem-768' }): KeyObject;
}

const MLKEM768_PUBLIC_KEY_BYTES = 1184;
const MLKEM768_CIPHERTEXT_BYTES = 1088;

function probeMlKem(): NodeKemApi | undefined {
  // Not a namespace import: in the bundle that would build an object of every node:crypto export, reading
  // webcrypto and loading it at start-up (scripts/bundle.js).
  const api = process.getBuiltinModule('node:crypto') as unknown as Partial<NodeKemApi>;
  if (typeof api.encapsulate !== 'function' || typeof api.decapsulate !== 'function') return undefined;
  try {
    // The build may still lack the algorithm (OpenSSL older than 3.5): try it once.
    const full = api as NodeKemApi;
    const { publicKey, privateKey } = full.generateKeyPairSync('ml-kem-768');
    const raw = exportRawPublic(publicKey);
    const { sharedKey, ciphertext } = full.encapsulate(full.createPublicKey({ key: raw, format: 'raw-public', asymmetricKeyType: 'ml-kem-768' }));
    if (raw.length !== MLKEM768_PUBLIC_KEY_BYTES || ciphertext.length !== MLKEM768_CIPHERTEXT_BYTES) return undefined;
    return full.decapsulate(privateKey, ciphertext).equals(sharedKey) ? full : undefined;
  } catch {
    return undefined;
  }
}

function exportRawPublic(key: KeyObject): Buffer {
  return (key.export as unknown as (options: { format: 'raw-public' }) => Buffer)({ format: 'raw-public' });
}

let mlkemApi: NodeKemApi | undefined | null = null;

/** Whether this Node can do ML-KEM-768 (Node 22 cannot): methods using it are then not offered or listed. */
export function mlkem768Available(): boolean {
  if (mlkemApi === null) mlkemApi = probeMlKem();
  return mlkemApi !== undefined;
}

/** ML-KEM-768 (FIPS 203): 1184-byte encapsulation keys, 1088-byte ciphertexts, 32-byte secrets. */
export function mlkem768(): Kem {
  if (!mlkem768Available()) throw new Error('ML-KEM-768 is not available in this Node.js');
  const api = mlkemApi!;
  return {
    name: 'ML-KEM-768',
    publicKeyLength: MLKEM768_PUBLIC_KEY_BYTES,
    ciphertextLength: MLKEM768_CIPHERTEXT_BYTES,
    generate() {
      const { publicKey, privateKey } = api.generateKeyPairSync('ml-kem-768');
      return {
        publicKey: exportRawPublic(publicKey),
        decapsulate(ciphertext) {
          if (ciphertext.length !== MLKEM768_CIPHERTEXT_BYTES) throw new ProtocolError('invalid ML-KEM-768 ciphertext length', KEX_FAILED);
          // FIPS 203 §6.3: a well-sized but wrong ciphertext yields an unrelated secret (implicit rejection),
          // so the mismatch surfaces as a failed host-key signature, as in OpenSSH.
          return api.decapsulate(privateKey, ciphertext);
        },
      };
    },
    encapsulate(publicKey) {
      if (publicKey.length !== MLKEM768_PUBLIC_KEY_BYTES) throw new ProtocolError('invalid ML-KEM-768 public key length', KEX_FAILED);
      let key: KeyObject;
      try {
        // OpenSSL performs FIPS 203 §7.2's encapsulation-key check (coefficients reduced mod q) on import.
        key = api.createPublicKey({ key: publicKey, format: 'raw-public', asymmetricKeyType: 'ml-kem-768' });
      } catch {
        throw new ProtocolError('invalid ML-KEM-768 public key', KEX_FAILED);
      }
      const { sharedKey, ciphertext } = api.encapsulate(key);
      return { ciphertext, sharedSecret: sharedKey };
    },
  };
}

/** sntrup761: 1158-byte public keys, 1039-byte ciphertexts, 32-byte secrets (implicit rejection too). */
export function sntrup761(): Kem {
  return {
    name: 'sntrup761',
    publicKeyLength: SNTRUP761_PUBLIC_KEY_BYTES,
    ciphertextLength: SNTRUP761_CIPHERTEXT_BYTES,
    generate() {
      const { publicKey, secretKey } = sntrup761KeyPair();
      return {
        publicKey,
        decapsulate(ciphertext) {
          const secret = sntrup761Decapsulate(ciphertext, secretKey);
          secretKey.fill(0); // one decapsulation per exchange
          return secret;
        },
      };
    },
    encapsulate: (publicKey) => sntrup761Encapsulate(publicKey),
  };
}
