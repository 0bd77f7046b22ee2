/**
 * `tether ssh -Q query`: the algorithm lists ssh(1) prints (ssh.c's `-Q` handling), drawn from Tether's own
 * registries, so the answer is exactly what this client can negotiate. Query words are compared exactly;
 * configuration option names (Ciphers, MACs, ...) case-insensitively, as ssh does.
 */
import { CIPHERS, MACS } from '../crypto/cipher/index.ts';
import { KEX_METHODS } from '../crypto/kex/methods.ts';
import { COMPRESSIONS } from '../crypto/compression.ts';
import { keyTypes, signatureAlgorithmNames } from '../keys/algorithms/index.ts';
import { certificateAlgorithm } from '../keys/certificate.ts';

/** Thrown for a query ssh does not know; the message is ssh's fatal() text (exit status 255). */
export class UnsupportedQueryError extends Error {
  override readonly name = 'UnsupportedQueryError';
  constructor(query: string) {
    super(`Unsupported query "${query}"`);
  }
}

/** Signature algorithms of plain (non-certificate) keys, signature-only names (rsa-sha2-256) included. */
const plainSignatures = (): string[] => signatureAlgorithmNames();

/** Each name followed by its certificate name (PROTOCOL.certkeys), in ssh's order. */
const withCertificates = (names: readonly string[]): string[] => names.flatMap((name) => [name, certificateAlgorithm(name)]);

/** The queries by their `-Q` word. Tether has no GSSAPI key exchange: that one is empty. */
const QUERIES: Record<string, () => readonly string[]> = {
  cipher: () => [...CIPHERS.keys()],
  'cipher-auth': () => [...CIPHERS.values()].filter((cipher) => cipher.aead).map((cipher) => cipher.name),
  compression: () => COMPRESSIONS,
  kex: () => [...KEX_METHODS.keys()],
  'kex-gss': () => [],
  key: () => withCertificates(keyTypes()),
  'key-ca-sign': plainSignatures,
  'key-cert': () => keyTypes().map(certificateAlgorithm),
  'key-plain': () => keyTypes(),
  // Every key and signature algorithm, certificate types included.
  'key-sig': () => withCertificates(signatureAlgorithmNames()),
  mac: () => [...MACS.keys()],
  'protocol-version': () => ['2'],
  sig: plainSignatures,
};

/** ssh_config option names accepted as queries (compared case-insensitively), and the query each means. */
const OPTION_NAMES: Record<string, string> = {
  ciphers: 'cipher',
  macs: 'mac',
  kexalgorithms: 'kex',
  pubkeyacceptedkeytypes: 'key-sig',
  pubkeyacceptedalgorithms: 'key-sig',
  hostkeyalgorithms: 'key-sig',
  hostbasedkeytypes: 'key-sig',
  hostbasedacceptedkeytypes: 'key-sig',
  hostbasedacceptedalgorithms: 'key-sig',
  casignaturealgorithms: 'key-ca-sign',
};

/** The lines `ssh -Q query` prints (without newlines). Throws UnsupportedQueryError for an unknown query. */
export function queryLines(query: string): readonly string[] {
  if (query === 'help') return Object.keys(QUERIES).sort();
  const list = Object.hasOwn(QUERIES, query) ? QUERIES[query] : QUERIES[OPTION_NAMES[query.toLowerCase()] ?? ''];
  if (list === undefined) throw new UnsupportedQueryError(query);
  return list();
}

/** The text `ssh -Q query` writes to stdout: one name a line; nothing for an empty list. */
export function queryOutput(query: string): string {
  return queryLines(query).map((line) => `${line}\n`).join('');
}
