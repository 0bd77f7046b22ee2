// Types for the CommonJS package bcrypt-pbkdf 1.0.2 (a port of OpenBSD's bcrypt_pbkdf(3)).
declare module 'bcrypt-pbkdf' {
  const bcryptPbkdf: {
    /** Fills `key` with `keylen` derived bytes; returns 0 on success, -1 on bad arguments (e.g. empty passphrase). */
    pbkdf(
      pass: Uint8Array,
      passlen: number,
      salt: Uint8Array,
      saltlen: number,
      key: Uint8Array,
      keylen: number,
      rounds: number,
    ): number;
  };
  export default bcryptPbkdf;
}
