/**
 * The algorithm lists the server offers: sshd_config's Ciphers, MACs, KexAlgorithms and HostKeyAlgorithms
 * (already resolved against OpenSSH's defaults by the config layer) narrowed to what our transport
 * implements, in the configured order. Names we do not implement are dropped silently, as OpenSSH drops
 * algorithms its build lacks; a list left empty is a configuration error.
 */
import type { AlgorithmPreferences } from '../transport/transport.ts';
import { CIPHERS, MACS } from '../crypto/cipher/index.ts';
import { KEX_METHODS } from '../crypto/kex/methods.ts';
import type { EffectiveSshdSettings } from '../config/sshd/index.ts';
import { DEFAULTS } from '../config/sshd/algorithms.ts';
import type { PrivateKey } from '../keys/index.ts';

export class AlgorithmConfigError extends Error {
  override readonly name = 'AlgorithmConfigError';
}

function keep(keyword: string, configured: readonly string[], supported: (name: string) => boolean): string[] {
  const out = configured.filter(supported);
  if (out.length === 0) throw new AlgorithmConfigError(`${keyword}: none of the configured algorithms is supported (${configured.join(',')})`);
  return out;
}

const MLKEM = 'mlkem768x25519-sha256';

/**
 * OpenSSH 10 offers mlkem768x25519-sha256 first. `sshd -T` keeps printing 9.2's defaults (a drop-in's
 * output), but where the configured list holds 9.2's whole default list as one run (KexAlgorithms unset, or
 * extended with `+` or `^`) and does not name ML-KEM, the server offers it ahead of that run.
 */
function withOpenSsh10Kex(configured: readonly string[]): string[] {
  const start = configured.indexOf(DEFAULTS.kex[0]!);
  const run = start >= 0 && DEFAULTS.kex.every((name, i) => configured[start + i] === name);
  if (!run || configured.includes(MLKEM)) return [...configured];
  return [...configured.slice(0, start), MLKEM, ...configured.slice(start)];
}

/** The transport preferences for these settings and host keys. */
export function serverAlgorithms(settings: EffectiveSshdSettings, hostKeys: readonly PrivateKey[]): AlgorithmPreferences {
  const signable = new Set(hostKeys.flatMap((key) => key.publicKey.signatureAlgorithms));
  return {
    kex: keep('KexAlgorithms', withOpenSsh10Kex(settings.kexAlgorithms), (name) => KEX_METHODS.has(name)),
    hostKey: keep('HostKeyAlgorithms', settings.hostKeyAlgorithms, (name) => signable.has(name)),
    cipher: keep('Ciphers', settings.ciphers, (name) => CIPHERS.has(name)),
    mac: keep('MACs', settings.macs, (name) => MACS.has(name)),
    // Compression yes/delayed both mean zlib@openssh.com after authentication (sshd 7.4+).
    compression: settings.compression ? ['none', 'zlib@openssh.com'] : ['none'],
  };
}
