/** Public API of the key layer: key formats, fingerprints, known_hosts and authorized_keys. */
export * from './types.ts';
export { SshPublicKey, parsePublicKeyBlob, parsePublicKeyLine, publicKeyFromKeyObject } from './public-key.ts';
export {
  SshPrivateKey,
  KeyGenerationError,
  generatePrivateKey,
  checkKeySize,
  DEFAULT_BITS,
  type GeneratedKeyType,
} from './private-key.ts';
export { encodePrivateKeyFields, decodePrivateKeyFields, writePrivateKeyFields } from './private-key-fields.ts';
export { parsePrivateKey, isPrivateKeyEncrypted, readPublicKeyFromPrivate } from './parse-private-key.ts';
export { serializePrivateKey, DEFAULT_KDF_ROUNDS, type SerializeOptions } from './openssh-key-format.ts';
export { fingerprint, randomArt, keyTypeLabel, isFingerprintHash, type FingerprintHash } from './fingerprint.ts';
export { matchPatternList, matchWildcard, knownHostsName } from './host-patterns.ts';
export {
  parseKnownHosts,
  parseKnownHostsLine,
  checkHostKey,
  formatKnownHostsLine,
  hashHostName,
  entryMatchesName,
  type KnownHostsEntry,
  type HostKeyCheck,
  type HostKeyStatus,
} from './known-hosts.ts';
export {
  readKnownHostsFile,
  appendKnownHost,
  findHost,
  removeHost,
  hashKnownHostsFile,
  KnownHostsFileError,
} from './known-hosts-file.ts';
export {
  parseAuthorizedKeys,
  parseAuthorizedKeyLine,
  parseAuthorizedKeyOptions,
  AuthorizedKeyOptionError,
  type AuthorizedKey,
  type AuthorizedKeyOptions,
} from './authorized-keys.ts';
export {
  UnprotectedPrivateKeyError,
  checkPrivateKeyPermissions,
  loadPrivateKeyFile,
  loadPublicKeyFile,
  loadPublicKeyFromPrivateFile,
  readKeysForListing,
  type ListedKey,
} from './key-files.ts';
