/**
 * ssh(1)'s command line, parsed as ssh.c's option loop parses it: getopt over the flags, the destination,
 * then getopt again over what follows it (`ssh host -l user cmd`), stopping at the first word of the
 * command or at `--`. Every flag and `-o` is kept in argv order, with the destination in its place, because
 * ssh applies each as it meets it: first-wins settings (`-l`, `-p`, `user@`, `-o User=...`) keep whichever
 * came first, and a flag that assigns (`-A`, `-c`, `-q`, `-v`) overrides what came before it.
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { getopt, GetoptError, type ParsedOption } from './getopt.ts';
import type { CommandLineItem, SshFlags } from '../config/ssh/index.ts';
import { queryOutput, UnsupportedQueryError } from './ssh-query.ts';
import { systemErrorText } from '../server/forwarding/error-text.ts';

/** ssh's optstring (OpenSSH 9.2 ssh.c). */
const OPTSTRING = '1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy';

export const USAGE = `usage: tether ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface] [-b bind_address]
           [-c cipher_spec] [-D [bind_address:]port] [-E log_file]
           [-e escape_char] [-F configfile] [-I pkcs11] [-i identity_file]
           [-J destination] [-L address] [-l login_name] [-m mac_spec]
           [-O ctl_cmd] [-o option] [-p port] [-Q query_option] [-R address]
           [-S ctl_path] [-W host:port] [-w local_tun[:remote_tun]]
           destination [command [argument ...]]
`;

export interface SshInvocation {
  destination: string;
  command: string[];
  /** `-o` options, in order. */
  options: string[];
  /** Every configuration flag, merged (counts for -v, -t, -M). */
  flags: SshFlags;
  /**
   * The flags (one per item) and `-o` options in argv order, with 'destination' where it stood. When
   * present it is what the configuration is resolved from; `flags` and `options` are then summaries.
   */
  commandLine?: (CommandLineItem | 'destination')[];
  configFile?: string;
  /** -E: where log and debug output goes instead of stderr. */
  logFile?: string;
  /** -O ctl_cmd (ControlMaster commands). */
  controlCommand?: string;
  printConfig: boolean;
}

/** Thrown to leave with a status before connecting (e.g. -V, -Q). */
export class EarlyExit extends Error {
  readonly status: number;
  constructor(status: number) {
    super('exit');
    this.status = status;
  }
}

/** The flags that set configuration, as one SshFlags member each; undefined for the others. */
function flagSetting(flag: string, value: string | undefined, verboseCount: number): SshFlags | undefined {
  switch (flag) {
    case '4': return { addressFamily: 'inet' };
    case '6': return { addressFamily: 'inet6' };
    case 'A': return { forwardAgent: true };
    case 'a': return { forwardAgent: false };
    case 'B': return { bindInterface: value };
    case 'b': return { bindAddress: value };
    case 'C': return { compression: true };
    case 'c': return { ciphers: value };
    case 'D': return { dynamicForwards: [value!] };
    case 'e': return { escapeChar: value };
    case 'f': return { forkAfterAuthentication: true };
    case 'g': return { gatewayPorts: true };
    case 'J': return { proxyJump: value };
    case 'K': return { gssapi: true };
    case 'k': return { gssapi: false };
    case 'L': return { localForwards: [value!] };
    case 'l': return { user: value };
    case 'M': return { controlMaster: 1 };
    case 'm': return { macs: value };
    case 'N': return { noSession: true };
    case 'n': return { stdinNull: true };
    case 'p': {
      const port = Number(value);
      if (!/^\d+$/.test(value!) || port < 1 || port > 65535) throw new GetoptError(`Bad port '${value}'`, 'p');
      return { port };
    }
    case 'q': return { quiet: true };
    case 'R': return { remoteForwards: [value!] };
    case 'S': return { controlPath: value };
    case 's': return { subsystem: true };
    case 'T': return { disableTTY: true };
    case 't': return { forceTTY: 1 };
    // ssh: the first -v selects DEBUG1, each further one the next level (capped at DEBUG3).
    case 'v': return { verbose: verboseCount };
    case 'W': return { stdioForward: value };
    case 'w': return { tunnelDevice: value };
    case 'X': return { forwardX11: true };
    case 'x': return { forwardX11: false };
    case 'Y': return { forwardX11Trusted: true };
    default: return undefined;
  }
}

/** Merges one flag into the summary (lists append, counts add, the rest as the last one set it). */
function mergeFlag(into: SshFlags, one: SshFlags): void {
  const target = into as Record<string, unknown>;
  for (const [key, value] of Object.entries(one)) {
    if (Array.isArray(value)) target[key] = [...((target[key] as string[] | undefined) ?? []), ...value];
    else if (key === 'controlMaster' || key === 'forceTTY') target[key] = ((target[key] as number | undefined) ?? 0) + (value as number);
    else target[key] = value;
  }
}

/** ssh's `-i`: the path tilde-expanded, and dropped with a warning when it cannot be stat()ed (ssh.c). */
function identityFlag(value: string): SshFlags | undefined {
  const path = value === '~' || value.startsWith('~/') ? homedir() + value.slice(1) : value;
  try {
    statSync(path);
  } catch (error) {
    process.stderr.write(`Warning: Identity file ${path} not accessible: ${systemErrorText(error as Error)}.\n`);
    return undefined;
  }
  return { identityFiles: [path] };
}

/** Parses ssh's command line. Throws GetoptError with a usage message on bad flags, EarlyExit for -V/-Q. */
export function parseSshArguments(argv: string[]): SshInvocation {
  const flags: SshFlags = {};
  const invocation: SshInvocation = { destination: '', command: [], options: [], flags, commandLine: [], printConfig: false };
  const commandLine = invocation.commandLine!;
  let verboseCount = 0;
  const apply = (options: ParsedOption[]) => {
    for (const [flag, value] of options) {
      if (flag === 'v') verboseCount++;
      const setting = flag === 'i' ? identityFlag(value!) : flagSetting(flag, value, verboseCount);
      if (setting !== undefined) {
        commandLine.push({ flags: setting });
        mergeFlag(flags, setting);
        continue;
      }
      switch (flag) {
        case 'o':
          commandLine.push({ option: value! });
          invocation.options.push(value!);
          break;
        case 'E': invocation.logFile = value; break;
        case 'F': invocation.configFile = value; break;
        case 'G': invocation.printConfig = true; break;
        case 'O': invocation.controlCommand = value; break;
        case 'Q':
          try {
            process.stdout.write(queryOutput(value!));
          } catch (error) {
            if (!(error instanceof UnsupportedQueryError)) throw error;
            process.stderr.write(`${error.message}\r\n`);
            throw new EarlyExit(255);
          }
          throw new EarlyExit(0);
        case 'V':
          process.stderr.write(`Tether_0.1 (OpenSSH_9.2 compatible), Node.js ${process.versions.node}\n`);
          throw new EarlyExit(0);
        default:
          // -1 -2 -I -P -y: accepted like ssh, no effect here.
          break;
      }
    }
  };
  const first = getopt(argv, OPTSTRING);
  apply(first.options);
  const terminated = argv.length > first.operands.length && argv[argv.length - first.operands.length - 1] === '--';
  const [destination, ...rest] = first.operands;
  if (!destination) throw new GetoptError(USAGE.trimEnd(), '');
  invocation.destination = destination;
  commandLine.push('destination');
  // Options may follow the destination (ssh.c restarts getopt there) unless `--` ended them.
  if (terminated || rest.length === 0) {
    invocation.command = rest;
    return invocation;
  }
  const second = getopt(rest, OPTSTRING);
  apply(second.options);
  invocation.command = second.operands;
  return invocation;
}
