/** `tether keygen`'s command line: ssh-keygen's flags and usage text, and the exits that end the command. */
import { DEFAULT_KDF_ROUNDS, isFingerprintHash, type FingerprintHash } from '../keys/index.ts';
import { getopt, GetoptError } from './getopt.ts';

const OPTSTRING = 'a:b:C:E:f:F:HlN:P:pqR:t:vy';

const USAGE = [
  'usage: tether keygen [-q] [-a rounds] [-b bits] [-C comment] [-f output_keyfile]',
  '                     [-N new_passphrase] [-t ed25519 | ecdsa | rsa]',
  '       tether keygen -p [-a rounds] [-f keyfile] [-N new_passphrase] [-P old_passphrase]',
  '       tether keygen -l [-v] [-E fingerprint_hash] [-f input_keyfile]',
  '       tether keygen -y [-P passphrase] [-f input_keyfile]',
  '       tether keygen -F hostname [-f known_hosts_file]',
  '       tether keygen -H [-f known_hosts_file]',
  '       tether keygen -R hostname [-f known_hosts_file]',
].join('\n');

/** Ends the command with `status`, after printing `message` (if any) on stderr. */
export class Exit extends Error {
  override readonly name = 'Exit';
  readonly status: number;

  constructor(status: number, message?: string) {
    super(message ?? '');
    this.status = status;
  }
}

/** OpenSSH's fatal(): one line on stderr, exit status 255. */
export function fatal(message: string): never {
  throw new Exit(255, message);
}

export interface KeygenSettings {
  type?: string;
  bits?: number;
  comment?: string;
  newPassphrase?: string;
  oldPassphrase?: string;
  file?: string;
  rounds: number;
  hash: FingerprintHash;
  quiet: boolean;
  verbose: boolean;
  mode: 'generate' | 'fingerprint' | 'print-public' | 'change-passphrase' | 'find-host' | 'remove-host' | 'hash-hosts';
  host?: string;
}

export function parseKeygenArguments(argv: readonly string[]): KeygenSettings {
  let parsed;
  try {
    parsed = getopt(argv, OPTSTRING);
  } catch (error) {
    if (error instanceof GetoptError) throw new Exit(1, `${error.message}\n${USAGE}`);
    throw error;
  }
  if (parsed.operands.length > 0) throw new Exit(1, `Too many arguments.\n${USAGE}`);
  const settings: KeygenSettings = { rounds: DEFAULT_KDF_ROUNDS, hash: 'sha256', quiet: false, verbose: false, mode: 'generate' };
  for (const [flag, value = ''] of parsed.options) {
    switch (flag) {
      case 'a':
        settings.rounds = parseNumber(value, 'Invalid number');
        break;
      case 'b':
        settings.bits = parseNumber(value, 'Bits has bad value');
        break;
      case 'C':
        settings.comment = value;
        break;
      case 'E':
        if (!isFingerprintHash(value.toLowerCase())) fatal(`Invalid hash algorithm "${value}"`);
        settings.hash = value.toLowerCase() as FingerprintHash;
        break;
      case 'f':
        settings.file = value;
        break;
      case 'F':
        settings.mode = 'find-host';
        settings.host = value;
        break;
      case 'H':
        settings.mode = 'hash-hosts';
        break;
      case 'l':
        settings.mode = 'fingerprint';
        break;
      case 'N':
        settings.newPassphrase = value;
        break;
      case 'P':
        settings.oldPassphrase = value;
        break;
      case 'p':
        settings.mode = 'change-passphrase';
        break;
      case 'q':
        settings.quiet = true;
        break;
      case 'R':
        settings.mode = 'remove-host';
        settings.host = value;
        break;
      case 't':
        settings.type = value;
        break;
      case 'v':
        settings.verbose = true;
        break;
      case 'y':
        settings.mode = 'print-public';
        break;
    }
  }
  return settings;
}

function parseNumber(value: string, complaint: string): number {
  if (!/^\d+$/.test(value)) fatal(`${complaint} ${value}`);
  return Number(value);
}
