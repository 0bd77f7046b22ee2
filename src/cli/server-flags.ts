/**
 * `tether server`'s command line, read as sshd(8) reads its own (sshd.c main(): getopt
 * "C:E:b:c:f:g:h:k:o:p:u:46DQRTdeiqrtV"), with sshd's messages and exit statuses for bad values.
 */
import type { SshdConfigOverrides } from '../config/sshd/index.ts';
import type { LogLevel } from '../config/sshd/values.ts';
import { getopt, GetoptError } from './getopt.ts';

const OPTSTRING = 'C:E:b:c:f:g:h:k:o:p:u:46DQRTdeiqrtV';
export const SERVER_USAGE = [
  'usage: tether server [-46DdeiqTtV] [-C connection_spec] [-c host_cert_file]',
  '                     [-E log_file] [-f config_file] [-g login_grace_time]',
  '                     [-h host_key_file] [-o option] [-p port] [-u len]',
  '       tether server passwd user',
].join('\n');

export interface ServerFlags {
  file?: string;
  /** -C: the connection to resolve Match for (-T only). */
  spec?: string;
  /** -E: append the log to this file instead of stderr or syslog. */
  logFile?: string;
  /** -t checks the configuration, -T prints it; the last of them wins, as in sshd. */
  mode: 'run' | 'test' | 'dump';
  /** How many -d: debug mode (foreground, one connection), one more debug level each. */
  debug: number;
  /** -D: stay in the foreground. */
  noDaemon: boolean;
  /** -e (or -E): log to stderr (or the -E file) rather than to syslog. */
  logStderr: boolean;
  /** -i (or -R): one connection on stdin/stdout, as started by inetd or a ProxyCommand. */
  inetd: boolean;
  /** -q: LogLevel QUIET. */
  quiet: boolean;
  /** -V: print the version and exit. */
  version: boolean;
  overrides: SshdConfigOverrides & { port: number[]; hostKeys: string[]; options: string[] };
}

export type FlagsResult = { ok: true; flags: ServerFlags } | { ok: false; status: number; message: string };

/** sshd's convtime() syntax: a number, or number-unit groups (1h30m); s, m, h, d, w. */
const TIME_SPEC = /^(\d+|(\d+[sSmMhHdDwW])+)$/;

export function parseServerFlags(argv: readonly string[]): FlagsResult {
  let parsed;
  try {
    parsed = getopt(argv, OPTSTRING);
  } catch (error) {
    if (!(error instanceof GetoptError)) throw error;
    return { ok: false, status: 1, message: `tether server: ${error.message}\n${SERVER_USAGE}\n` };
  }
  if (parsed.operands.length > 0) return { ok: false, status: 1, message: `Extra argument ${parsed.operands[0]}.\n` };
  const flags: ServerFlags = {
    mode: 'run',
    debug: 0,
    noDaemon: false,
    logStderr: false,
    inetd: false,
    quiet: false,
    version: false,
    overrides: { port: [], hostKeys: [], options: [] },
  };
  for (const [flag, value] of parsed.options) {
    switch (flag) {
      case '4':
      case '6':
        flags.overrides.options.push(`AddressFamily ${flag === '4' ? 'inet' : 'inet6'}`);
        break;
      case 'f':
        flags.file = value!;
        break;
      case 'c':
        flags.overrides.options.push(`HostCertificate ${value!}`);
        break;
      case 'd':
        flags.debug++;
        break;
      case 'D':
        flags.noDaemon = true;
        break;
      case 'E':
        flags.logFile = value!;
        flags.logStderr = true;
        break;
      case 'e':
        flags.logStderr = true;
        break;
      case 'i':
      case 'R':
        flags.inetd = true;
        break;
      case 'q':
        flags.quiet = true;
        break;
      case 'p': {
        const port = Number(value);
        if (!/^\d+$/.test(value!) || port < 1 || port > 65535) return { ok: false, status: 1, message: 'Bad port number.\n' };
        flags.overrides.port.push(port);
        break;
      }
      case 'g':
        if (!TIME_SPEC.test(value!)) return { ok: false, status: 1, message: 'Invalid login grace time.\n' };
        flags.overrides.options.push(`LoginGraceTime ${value!}`);
        break;
      case 'h':
        flags.overrides.hostKeys.push(value!);
        break;
      case 'o':
        flags.overrides.options.push(value!);
        break;
      case 'C':
        flags.spec = value!;
        break;
      case 't':
        flags.mode = 'test';
        break;
      case 'T':
        flags.mode = 'dump';
        break;
      case 'u':
        if (!/^\d+$/.test(value!) || Number(value) > 256) return { ok: false, status: 1, message: 'Invalid utmp length.\n' };
        break;
      case 'V':
        flags.version = true;
        break;
      // -b, -k (protocol 1), -Q and -r (no re-exec: Tether never re-executes per connection) are ignored.
    }
  }
  if (flags.spec !== undefined && flags.mode !== 'dump') {
    return { ok: false, status: 255, message: 'Config test connection parameter (-C) provided without test mode (-T)\n' };
  }
  return { ok: true, flags };
}

/** The log level the flags impose over LogLevel: -d, -dd, -ddd as DEBUG1..3, -q as QUIET (sshd: the flag wins). */
export function flagLogLevel(flags: ServerFlags): LogLevel | undefined {
  if (flags.debug > 0) return (['DEBUG', 'DEBUG2', 'DEBUG3'] as const)[Math.min(flags.debug, 3) - 1];
  return flags.quiet ? 'QUIET' : undefined;
}
