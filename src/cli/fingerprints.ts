/**
 * `tether fingerprints [-f config] [-h host_key_file]`: the table users check on first connection, as the
 * guide prints it: per host key its SHA256 fingerprint, then the legacy MD5 forms for old clients. The
 * values are those of `ssh-keygen -l -f key` and `ssh-keygen -l -E md5 -f key`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fingerprint, keyTypeLabel, loadPublicKeyFromPrivateFile, parsePublicKeyLine, type PublicKey } from '../keys/index.ts';
import { SshdConfigError } from '../config/sshd/index.ts';
import { getopt, GetoptError } from './getopt.ts';
import { loadServerConfig } from './server.ts';

/** The table: "ED25519: SHA256:…" lines, a blank line, "Legacy SSH clients:" and "ED25519: MD5:…" lines. */
export function formatFingerprintTable(keys: readonly PublicKey[]): string {
  const label = (key: PublicKey) => keyTypeLabel(key.type);
  return [
    ...keys.map((key) => `${label(key)}: ${fingerprint(key.blob, 'sha256')}`),
    '',
    'Legacy SSH clients:',
    ...keys.map((key) => `${label(key)}: ${fingerprint(key.blob, 'md5')}`),
    '',
  ].join('\n');
}

/** The public half of each host key file that exists (from file.pub when present, else the private file). */
export function readHostPublicKeys(paths: readonly string[]): PublicKey[] {
  const keys: PublicKey[] = [];
  for (const path of paths) {
    try {
      if (existsSync(`${path}.pub`)) keys.push(parsePublicKeyLine(readFileSync(`${path}.pub`, 'utf8').trim()).key);
      else if (existsSync(path)) keys.push(loadPublicKeyFromPrivateFile(path));
    } catch {
      // An unreadable key is not part of the table; the server would not offer it either.
    }
  }
  return keys.filter((key, index) => keys.findIndex((other) => other.equals(key)) === index);
}

export async function fingerprintsMain(argv: string[]): Promise<number> {
  let file: string | undefined;
  const hostKeys: string[] = [];
  try {
    const parsed = getopt(argv, 'f:h:');
    for (const [flag, value] of parsed.options) {
      if (flag === 'f') file = value!;
      else hostKeys.push(value!);
    }
    if (parsed.operands.length > 0) throw new GetoptError('unexpected argument', parsed.operands[0]!);
  } catch (error) {
    if (!(error instanceof GetoptError)) throw error;
    process.stderr.write(`tether fingerprints: ${error.message}\nusage: tether fingerprints [-f config_file] [-h host_key_file]\n`);
    return 1;
  }
  let paths: string[];
  try {
    paths = hostKeys.length > 0 ? hostKeys : loadServerConfig(file, {}).config.settings.hostKeys;
  } catch (error) {
    if (!(error instanceof SshdConfigError)) throw error;
    for (const line of error.sshdLines) process.stderr.write(`${line}\n`);
    return 255;
  }
  const keys = readHostPublicKeys(paths);
  if (keys.length === 0) {
    process.stderr.write(`tether fingerprints: no host keys found (${paths.join(', ')}); start the server once to generate them\n`);
    return 1;
  }
  process.stdout.write(formatFingerprintTable(keys));
  return 0;
}
