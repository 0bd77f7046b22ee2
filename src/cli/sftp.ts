/**
 * `tether sftp`: sftp(1)'s command line (sftp.c main). Its ssh flags become an ssh command line, connected
 * as `tether ssh` connects (sftp-connect.ts); then the commands come from the terminal (a line editor with
 * history), from a pipe (each echoed as "sftp> ..."), or from -b batchfile, where an error ends the run
 * unless the line began with `-`. Exit status 0, or 1 when a command in batch mode (or the initial get)
 * failed; 255 when the connection could not be made.
 */
import { createReadStream } from 'node:fs';
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { getopt, GetoptError } from './getopt.ts';
import { ConnectFailedError, connectSftp, TRANSFER_SSH_OPTIONS } from './sftp-connect.ts';
import { parseUri, parseUserHostPath } from './sftp-destination.ts';
import { SftpShell } from './sftp-commands.ts';
import { makeAbsolute, remoteIsDirectory, type ShellContext } from './sftp-commands-context.ts';
import { SftpClient } from '../sftp/client/sftp-client.ts';
import { localErrorText } from '../sftp/client/local-errors.ts';

const OPTSTRING = '1246AafhNpqrvCc:D:i:l:o:s:S:b:B:F:J:P:R:X:';

export const SFTP_USAGE = `usage: tether sftp [-46AaCfNpqrv] [-B buffer_size] [-b batchfile] [-c cipher]
          [-D sftp_server_command] [-F ssh_config] [-i identity_file]
          [-J destination] [-l limit] [-o ssh_option] [-P port]
          [-R num_requests] [-s subsystem | sftp_server]
          [-X sftp_option] destination
`;

/** Leaves with a status before connecting (usage, fatal). */
class SftpExit extends Error {
  readonly status: number;
  constructor(status: number, message?: string) {
    super(message ?? 'exit');
    this.status = status;
  }
}

export interface SftpInvocation {
  sshArgv: string[];
  host: string;
  file1?: string;
  file2?: string;
  batchFile?: string;
  quiet: boolean;
  showProgress: boolean;
  global: ShellContext['global'];
  requestSize?: number;
  maxRequests?: number;
  limitBytesPerSecond?: number;
  subsystem?: string;
  direct?: string;
}

const fatal = (message: string) => new SftpExit(255, message);

/** sftp.c main's option loop and destination handling. */
export function parseSftpArguments(argv: string[]): SftpInvocation {
  let parsed;
  try {
    parsed = getopt(argv, OPTSTRING);
  } catch (error) {
    if (!(error instanceof GetoptError)) throw error;
    throw new SftpExit(1, `${error.message}\n${SFTP_USAGE}`);
  }
  const ssh = [...TRANSFER_SSH_OPTIONS];
  const invocation: SftpInvocation = { sshArgv: ssh, host: '', quiet: false, showProgress: true, global: { resume: false, fsync: false, preserve: false, recursive: false } };
  let port: number | undefined;
  let verbose = 0;
  let noisy = false;
  for (const [flag, value] of parsed.options) {
    switch (flag) {
      case 'A': case '4': case '6': case 'C': ssh.push(`-${flag}`); break;
      case 'F': case 'J': case 'c': case 'i': case 'o': ssh.push(`-${flag}`, value!); break;
      case 'q':
        invocation.quiet = true;
        invocation.showProgress = false;
        ssh.push('-q');
        break;
      case 'P':
        port = /^\d+$/.test(value!) ? Number(value) : 0;
        if (!(port >= 1 && port <= 65535)) throw fatal(`Bad port "${value}"\n`);
        break;
      case 'v':
        if (verbose < 3) ssh.push('-v');
        verbose++;
        break;
      case '1': throw fatal('SSH protocol v.1 is no longer supported');
      case '2': break;
      case 'a': invocation.global.resume = true; break;
      case 'B': {
        const size = /^\d+$/.test(value!) ? Number(value) : 0;
        if (size === 0) throw fatal(`Invalid buffer size "${value}"`);
        invocation.requestSize = size;
        break;
      }
      case 'b':
        if (invocation.batchFile !== undefined) throw fatal('Batch file already specified.');
        invocation.batchFile = value;
        invocation.showProgress = false;
        invocation.quiet = true;
        ssh.push('-obatchmode yes');
        break;
      case 'f': invocation.global.fsync = true; break;
      case 'N': noisy = true; break;
      case 'p': invocation.global.preserve = true; break;
      case 'D': invocation.direct = value; break;
      case 'l': {
        const limit = /^\d+$/.test(value!) ? Number(value) : 0;
        if (!(limit >= 1 && limit <= 100 * 1024 * 1024)) throw new SftpExit(1, SFTP_USAGE);
        // Kbit/s, as sftp and scp count it.
        invocation.limitBytesPerSecond = (limit * 1024) / 8;
        break;
      }
      case 'r': invocation.global.recursive = true; break;
      case 'R': {
        const count = /^\d+$/.test(value!) ? Number(value) : 0;
        if (count === 0) throw fatal(`Invalid number of requests "${value}"`);
        invocation.maxRequests = count;
        break;
      }
      case 's': invocation.subsystem = value; break;
      // The connection is made in-process: there is no ssh program to replace, and accepting -S silently would
      // pretend to run one.
      case 'S': throw fatal(`-S ${value}: not supported: tether sftp connects by itself (use -o, -F or -J instead)`);
      case 'X': parseExtendedOption(invocation, value!); break;
      default: throw new SftpExit(1, SFTP_USAGE);
    }
  }
  ssh.push('-oForwardAgent no');
  if (noisy) invocation.quiet = false;
  if (invocation.direct !== undefined) return invocation;
  const operands = parsed.operands;
  if (operands.length === 0 || operands.length > 2) throw new SftpExit(1, SFTP_USAGE);
  const destination = operands[0]!;
  let user: string | undefined;
  const uri = parseUri('sftp', destination);
  if (uri === 'invalid') throw new SftpExit(1, SFTP_USAGE);
  if (uri !== 'not-uri') {
    ({ user, host: invocation.host } = uri);
    invocation.file1 = uri.path;
    if (uri.port !== undefined) port = uri.port;
  } else {
    const spec = parseUserHostPath(destination);
    if (spec) {
      ({ user, host: invocation.host } = spec);
      invocation.file1 = spec.path;
    } else {
      const at = destination.lastIndexOf('@');
      user = at > 0 ? destination.slice(0, at) : undefined;
      invocation.host = (at >= 0 ? destination.slice(at + 1) : destination).replace(/^\[(.*)\]$/, '$1');
    }
  }
  invocation.file2 = operands[1];
  if (!invocation.host) throw new SftpExit(1, `Missing hostname\n${SFTP_USAGE}`);
  if (port !== undefined) ssh.push(`-oPort ${port}`);
  if (user !== undefined) ssh.push('-l', user);
  ssh.push('-s', '--', invocation.host, invocation.subsystem ?? 'sftp');
  return invocation;
}

/** -X buffer=SIZE / nrequests=N (sftp.c). */
function parseExtendedOption(invocation: SftpInvocation, value: string): void {
  if (value.startsWith('buffer=')) {
    const match = /^(\d+)([kKmM]?)$/.exec(value.slice(7));
    const scale = match?.[2] ? (match[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024) : 1;
    const size = match ? Number(match[1]) * scale : NaN;
    if (!(size > 0 && size <= 256 * 1024)) throw fatal(`Invalid buffer size "${value.slice(7)}": Invalid argument`);
    invocation.requestSize = size;
  } else if (value.startsWith('nrequests=')) {
    const count = /^\d+$/.test(value.slice(10)) ? Number(value.slice(10)) : NaN;
    if (!(count >= 1 && count <= 256 * 1024)) throw fatal(`Invalid number of requests "${value.slice(10)}": ${Number.isNaN(count) ? 'invalid' : count < 1 ? 'too small' : 'too large'}`);
    invocation.maxRequests = count;
  } else {
    throw fatal('Invalid -X option');
  }
}

/** -D: a local sftp-server program, spoken to over its stdin and stdout. */
async function attachDirect(command: string, options: { requestSize?: number; maxRequests?: number }): Promise<SftpClient> {
  const [program, ...args] = command.split(/\s+/).filter(Boolean);
  if (program === undefined) throw fatal('No sftp server specified via -D');
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  child.once('error', (error) => process.stderr.write(`exec: ${program}: ${localErrorText(error)}\n`));
  return SftpClient.open(Duplex.from({ readable: child.stdout, writable: child.stdin }), options);
}

function writeError(message: string): void {
  // log.c writes each message with CR LF.
  process.stderr.write(`${message}\r\n`);
}

export async function sftpMain(argv: string[]): Promise<number> {
  let invocation: SftpInvocation;
  try {
    invocation = parseSftpArguments(argv);
  } catch (error) {
    if (!(error instanceof SftpExit)) throw error;
    process.stderr.write(error.message.endsWith('\n') ? error.message : `${error.message}\r\n`);
    return error.status;
  }
  let input: NodeJS.ReadableStream = process.stdin;
  if (invocation.batchFile !== undefined && invocation.batchFile !== '-') {
    try {
      const stream = createReadStream(invocation.batchFile);
      await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
      input = stream;
    } catch (error) {
      writeError(`${localErrorText(error)} (${invocation.batchFile}).`);
      return 255;
    }
  }
  if (!process.stderr.isTTY) invocation.showProgress = false;

  let sftp: SftpClient;
  let end: () => void;
  try {
    if (invocation.direct !== undefined) {
      sftp = await attachDirect(invocation.direct, invocation);
      end = () => sftp.end();
    } else {
      const connection = await connectSftp(invocation.sshArgv, { requestSize: invocation.requestSize, maxRequests: invocation.maxRequests, subsystem: invocation.subsystem });
      sftp = connection.sftp;
      end = () => connection.client.end();
    }
  } catch (error) {
    if (!(error instanceof ConnectFailedError) && !(error instanceof SftpExit) && !/Connection closed|Invalid packet/.test((error as Error).message)) throw error;
    if (error instanceof SftpExit) writeError(error.message);
    writeError('Connection closed');
    return 255;
  }
  if (!invocation.quiet) process.stderr.write(invocation.direct !== undefined ? `Attached to ${invocation.direct}.\n` : `Connected to ${invocation.host}.\n`);
  try {
    return (await interactiveLoop(sftp, invocation, input)) === 0 ? 0 : 1;
  } catch (error) {
    writeError(/Connection closed/.test((error as Error).message) ? 'Connection closed' : (error as Error).message);
    return 255;
  } finally {
    end();
  }
}

function shellContext(sftp: SftpClient, invocation: SftpInvocation): ShellContext {
  return {
    sftp,
    print: (text) => process.stdout.write(text),
    error: writeError,
    info: (message) => {
      if (!invocation.quiet || invocation.batchFile !== undefined) writeError(message);
    },
    quiet: invocation.quiet,
    showProgress: invocation.showProgress,
    global: invocation.global,
    limitBytesPerSecond: invocation.limitBytesPerSecond,
    width: () => (process.stdin.isTTY && process.stdout.columns) || 80,
  };
}

/** sftp.c interactive_loop. Returns 0 when all went well (or the user quit), -1 otherwise. */
async function interactiveLoop(sftp: SftpClient, invocation: SftpInvocation, input: NodeJS.ReadableStream): Promise<number> {
  const context = shellContext(sftp, invocation);
  const pwd = await sftp.realpath('.');
  const shell = new SftpShell(context, pwd);
  if (invocation.file1 !== undefined) {
    const directory = makeAbsolute(invocation.file1, pwd);
    if (invocation.file2 === undefined && (await remoteIsDirectory(sftp, directory))) {
      if (!invocation.quiet) context.print(`Changing to: ${directory}\n`);
      if ((await shell.run(`cd "${directory}"`, true, false)) !== 0) return -1;
    } else {
      const command = `get${invocation.global.resume ? ' -a' : ''} ${directory}${invocation.file2 === undefined ? '' : ` ${invocation.file2}`}`;
      return shell.run(command, true, false);
    }
  }
  const batch = invocation.batchFile !== undefined;
  const interactive = !batch && process.stdin.isTTY === true;
  const lines = createInterface({ input, output: interactive ? process.stdout : undefined, terminal: interactive, historySize: 100, prompt: 'sftp> ' });
  let status = 0;
  const iterator = lines[Symbol.asyncIterator]();
  let controller: AbortController | undefined;
  // Ctrl-C interrupts the command in progress, not sftp (sftp.c cmd_interrupt); at the prompt, it clears the line.
  const onInterrupt = () => {
    if (controller) {
      process.stderr.write('\rInterrupt  \n');
      controller.abort();
    } else if (interactive) {
      process.stdout.write('\n');
      lines.prompt();
    } else {
      process.exit(1);
    }
  };
  lines.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  try {
    for (;;) {
      if (interactive) lines.prompt();
      const next = await iterator.next();
      if (next.done) {
        if (interactive) process.stdout.write('\n');
        break;
      }
      controller = new AbortController();
      context.signal = controller.signal;
      // While a command runs the terminal is cooked, so Ctrl-C is a SIGINT that stops it (not a key for readline).
      if (interactive) {
        lines.pause();
        process.stdin.setRawMode(false);
      }
      const result = await shell.run(next.value, batch, !interactive);
      controller = undefined;
      if (interactive) {
        process.stdin.setRawMode(true);
        lines.resume();
      }
      if (result !== 0) {
        status = result;
        break;
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    lines.close();
  }
  return status >= 0 ? 0 : -1;
}

