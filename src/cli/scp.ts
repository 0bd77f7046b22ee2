/**
 * `tether scp`: scp(1) as OpenSSH 9.2 has it (scp.c main, toremote, tolocal). SFTP by default (scp-sftp.ts),
 * the legacy protocol with -O (scp-protocol.ts, running `scp -t`/`scp -f` on the remote), remote-to-remote
 * copies through this host (the default, -3) or directly from the first remote with -R, local copies by cp;
 * and, as `scp -t`/`scp -f`, the remote end of a legacy copy (scp-remote.ts).
 * Connections are made as `tether ssh` makes them (sftp-connect.ts). Exit status 0, or 1 after any error;
 * 255 when scp gives up altogether.
 */
import { spawnSync } from 'node:child_process';
import { getopt, GetoptError } from './getopt.ts';
import { ConnectFailedError, connectAsSsh, connectSftp, type TransferConnection } from './sftp-connect.ts';
import { hostColon, parseUri, parseUserHostPath, type RemoteSpec } from './sftp-destination.ts';
import { ProgressMeter, progressName } from './progress-meter.ts';
import { FatalScpError, sinkSftp, sourceSftp, throughLocalSftp, type ScpSftpOptions } from './scp-sftp.ts';
import { ByteReader, receiveFiles, ScpProtocolError, sendFiles, type ScpHooks } from './scp-protocol.ts';
import { serveScpRemote } from './scp-remote.ts';
import type { SftpClient, TransferProgress } from '../sftp/client/index.ts';

const OPTSTRING = '12346ABCTdfOpqRrstvD:F:J:M:P:S:c:i:l:o:X:';

export const SCP_USAGE = `usage: tether scp [-346ABCOpqRrsTv] [-c cipher] [-F ssh_config]
           [-i identity_file] [-J destination] [-l limit] [-o ssh_option]
           [-P port] [-X sftp_option] source ... target
`;

interface ScpInvocation {
  ssh: string[];
  legacy: boolean;
  throughLocal: boolean;
  recursive: boolean;
  preserve: boolean;
  verbose: boolean;
  showProgress: boolean;
  targetShouldBeDirectory: boolean;
  port?: number;
  limitBytesPerSecond?: number;
  requestSize?: number;
  maxRequests?: number;
  operands: string[];
  /** -t (receive) or -f (send): this scp is the remote end of a legacy-protocol copy (scp-remote.ts). */
  remoteRole?: 'sink' | 'source';
}

class ScpExit extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** log.c with scp's prefix; CR LF as log.c writes to stderr. */
function scpError(message: string): void {
  process.stderr.write(`scp: ${message}\r\n`);
}

function parseScpArguments(argv: string[]): ScpInvocation {
  let parsed;
  try {
    parsed = getopt(argv, OPTSTRING);
  } catch (error) {
    if (!(error instanceof GetoptError)) throw error;
    throw new ScpExit(1, `${error.message}\n${SCP_USAGE}`);
  }
  const ssh = ['-x', '-oPermitLocalCommand=no', '-oClearAllForwardings=yes', '-oRemoteCommand=none', '-oRequestTTY=no'];
  const invocation: ScpInvocation = {
    ssh, legacy: false, throughLocal: true, recursive: false, preserve: false, verbose: false, showProgress: true, targetShouldBeDirectory: false, operands: [],
  };
  for (const [flag, value] of parsed.options) {
    switch (flag) {
      case '1': throw new ScpExit(255, 'scp: SSH protocol v.1 is no longer supported\r\n');
      case '2': break;
      case 'A': case '4': case '6': case 'C': ssh.push(`-${flag}`); break;
      case '3': invocation.throughLocal = true; break;
      case 'R': invocation.throughLocal = false; break;
      case 'o': case 'c': case 'i': case 'F': case 'J': ssh.push(`-${flag}`, value!); break;
      case 'O': invocation.legacy = true; break;
      case 's': invocation.legacy = false; break;
      case 'P': {
        const port = /^\d+$/.test(value!) ? Number(value) : 0;
        if (!(port >= 1 && port <= 65535)) throw new ScpExit(255, `scp: bad port "${value}"\n\r\n`);
        invocation.port = port;
        break;
      }
      case 'B': ssh.push('-oBatchmode=yes'); break;
      case 'l': {
        const limit = /^\d+$/.test(value!) ? Number(value) : 0;
        if (!(limit >= 1 && limit <= 100 * 1024 * 1024)) throw new ScpExit(1, SCP_USAGE);
        invocation.limitBytesPerSecond = (limit * 1024) / 8;
        break;
      }
      case 'p': invocation.preserve = true; break;
      case 'r': invocation.recursive = true; break;
      case 'v': ssh.push('-v'); invocation.verbose = true; break;
      case 'q': ssh.push('-q'); invocation.showProgress = false; break;
      case 'X': {
        const [name, setting = ''] = value!.split('=', 2);
        if (name === 'buffer' && /^\d+$/.test(setting) && Number(setting) > 0 && Number(setting) <= 256 * 1024) invocation.requestSize = Number(setting);
        else if (name === 'nrequests' && /^\d+$/.test(setting) && Number(setting) >= 1) invocation.maxRequests = Number(setting);
        else throw new ScpExit(255, 'scp: Invalid -X option\r\n');
        break;
      }
      case 'd': invocation.targetShouldBeDirectory = true; break;
      case 'f': invocation.remoteRole = 'source'; break;
      case 't': invocation.remoteRole = 'sink'; break;
      // -T only relaxes a check on file names we do not make; -D, -M and -S name programs Tether does not run,
      // and accepting them silently would pretend to.
      case 'T': break;
      default: throw new ScpExit(1, `scp: -${flag}: not supported: tether scp connects by itself (use -o, -F or -J instead)\r\n`);
    }
  }
  ssh.push('-oForwardAgent=no');
  invocation.operands = parsed.operands;
  // scp.c main: the remote end takes what it is given (a sink checks its one target itself).
  if (invocation.remoteRole) return invocation;
  if (invocation.operands.length < 2) throw new ScpExit(1, SCP_USAGE);
  if (invocation.operands.length > 2) invocation.targetShouldBeDirectory = true;
  return invocation;
}

/** A remote operand, or undefined for a local one; 'invalid' for a bad scp:// URI. */
function remoteOperand(text: string): RemoteSpec | undefined | 'invalid' {
  const uri = parseUri('scp', text);
  if (uri === 'invalid') return 'invalid';
  if (uri !== 'not-uri') return { ...uri, path: uri.path ?? '.' };
  return parseUserHostPath(text);
}

/** The ssh command line for one host (scp.c do_cmd). */
function sshArgv(invocation: ScpInvocation, spec: RemoteSpec): string[] {
  const port = spec.port ?? invocation.port;
  return [...invocation.ssh, ...(port !== undefined ? [`-oPort=${port}`] : []), ...(spec.user !== undefined ? ['-l', spec.user] : []), '--', spec.host];
}

/** The remote scp command of the legacy protocol (scp.c main's `cmd`). */
function remoteCommand(invocation: ScpInvocation, direction: '-t' | '-f', path: string): string {
  const flags = `${invocation.verbose ? ' -v' : ''}${invocation.recursive ? ' -r' : ''}${invocation.preserve ? ' -p' : ''}${invocation.targetShouldBeDirectory ? ' -d' : ''}`;
  return `scp${flags} ${direction} ${path.startsWith('-') ? '-- ' : ''}${shellWord(path)}`;
}

/** The remote shell sees the path as one word; its glob characters stay live, as with OpenSSH's scp. */
function shellWord(path: string): string {
  return path.replace(/([\s'"\\;&|<>()$`])/g, '\\$1');
}

function progressHooks(invocation: ScpInvocation): (path: string) => TransferProgress | undefined {
  return (path) => {
    if (!invocation.showProgress) return undefined;
    let meter: ProgressMeter | undefined;
    return { start: (size, position) => (meter = new ProgressMeter(progressName(path), size, position)), stop: () => meter?.stop() };
  };
}

function scpHooks(invocation: ScpInvocation): ScpHooks {
  const progress = progressHooks(invocation);
  return {
    localError: (text) => process.stderr.write(text),
    remoteMessage: (text) => process.stderr.write(text),
    limitBytesPerSecond: invocation.limitBytesPerSecond,
    progress: (name, size, position) => {
      const hook = progress(name);
      hook?.start(size, position);
      return hook;
    },
  };
}

export async function scpMain(argv: string[]): Promise<number> {
  let invocation: ScpInvocation;
  try {
    invocation = parseScpArguments(argv);
  } catch (error) {
    if (!(error instanceof ScpExit)) throw error;
    process.stderr.write(error.message);
    return error.status;
  }
  if (invocation.remoteRole) {
    const { remoteRole: role, operands, recursive, preserve, targetShouldBeDirectory } = invocation;
    return serveScpRemote({ role, operands, recursive, preserve, targetShouldBeDirectory });
  }
  if (!process.stdout.isTTY) invocation.showProgress = false;
  const connections: TransferConnection[] = [];
  try {
    const errors = await copyAll(invocation, connections);
    return errors === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof FatalScpError) return 255;
    if (error instanceof ConnectFailedError) {
      scpError('Connection closed');
      return 255;
    }
    if (error instanceof ScpProtocolError) {
      if (error.message === 'lost connection') process.stderr.write('lost connection\n');
      else scpError(error.message);
      return 1;
    }
    scpError(/Connection closed/.test((error as Error).message) ? 'Connection closed' : (error as Error).message);
    return 255;
  } finally {
    for (const connection of connections) connection.client.end();
  }
}

async function copyAll(invocation: ScpInvocation, connections: TransferConnection[]): Promise<number> {
  const operands = invocation.operands;
  const targetText = operands.at(-1)!;
  const sources = operands.slice(0, -1);
  const target = hostColon(targetText) >= 0 || targetText.startsWith('scp://') ? remoteOperand(targetText) : undefined;
  if (target === 'invalid') {
    process.stderr.write(`${targetText}: invalid uri\n`);
    return 1;
  }
  const sftpOptions: ScpSftpOptions = {
    recursive: invocation.recursive,
    preserve: invocation.preserve,
    targetShouldBeDirectory: invocation.targetShouldBeDirectory,
    limitBytesPerSecond: invocation.limitBytesPerSecond,
    error: scpError,
    progressFor: progressHooks(invocation),
  };
  const openSftp = async (spec: RemoteSpec): Promise<SftpClient> => {
    const connection = await connectSftp(sshArgv(invocation, spec), { requestSize: invocation.requestSize, maxRequests: invocation.maxRequests });
    connections.push(connection);
    return connection.sftp;
  };
  let errors = 0;
  let targetSftp: SftpClient | undefined;
  for (const sourceText of sources) {
    const source = remoteOperand(sourceText);
    if (source === 'invalid') {
      process.stderr.write(`${sourceText}: invalid uri\n`);
      errors++;
      continue;
    }
    if (target === undefined) {
      if (source === undefined) {
        // Local to local: cp(1), as scp runs it.
        const result = spawnSync('cp', [...(invocation.recursive ? ['-r'] : []), ...(invocation.preserve ? ['-p'] : []), '--', sourceText, targetText], { stdio: 'inherit' });
        if (result.status !== 0) errors++;
        continue;
      }
      if (!invocation.legacy) {
        const sftp = await openSftp(source);
        if (!(await sinkSftp(sftp, source.path!, targetText, sftpOptions))) errors++;
        continue;
      }
      errors += await legacyTransfer(invocation, connections, source, '-f', source.path!, (reader, channel) => receiveFiles(reader, channel, { ...invocation, target: targetText }, scpHooks(invocation)));
      continue;
    }
    if (source !== undefined && invocation.throughLocal) {
      if (!invocation.legacy) {
        targetSftp ??= await openSftp(target);
        const from = await openSftp(source);
        if (!(await throughLocalSftp(from, targetSftp, source.path!, target.path!, sftpOptions))) errors++;
        continue;
      }
      errors += await legacyThroughLocal(invocation, connections, source, target);
      continue;
    }
    if (source !== undefined) {
      // Directly from the first remote (-R): it runs scp itself, towards the target.
      const connection = await connectAsSsh(sshArgv(invocation, source));
      connections.push(connection);
      const destination = `${target.user ? `${target.user}@` : ''}${target.host}:${target.path}`;
      const command = `scp${invocation.verbose ? ' -v' : ''}${invocation.recursive ? ' -r' : ''}${invocation.preserve ? ' -p' : ''}${invocation.targetShouldBeDirectory ? ' -d' : ''} ${shellWord(source.path!)} ${shellWord(destination)}`;
      const session = await connection.client.exec(command);
      session.stdout.pipe(process.stdout, { end: false });
      session.stderr.pipe(process.stderr, { end: false });
      session.channel.end();
      const status = await session.exit;
      if (status.code !== 0) errors++;
      continue;
    }
    if (!invocation.legacy) {
      targetSftp ??= await openSftp(target);
      if (!(await sourceSftp(targetSftp, sourceText, target.path!, sftpOptions))) errors++;
      continue;
    }
    errors += await legacyTransfer(invocation, connections, target, '-t', target.path!, (reader, channel) => sendFiles([sourceText], reader, channel, invocation, scpHooks(invocation)));
  }
  return errors;
}

/** One legacy-protocol exchange with a remote `scp -t` or `scp -f`. */
async function legacyTransfer(
  invocation: ScpInvocation,
  connections: TransferConnection[],
  spec: RemoteSpec,
  direction: '-t' | '-f',
  path: string,
  run: (reader: ByteReader, channel: NodeJS.WritableStream & import('node:stream').Writable) => Promise<number>,
): Promise<number> {
  const connection = await connectAsSsh(sshArgv(invocation, spec));
  connections.push(connection);
  const session = await connection.client.exec(remoteCommand(invocation, direction, path));
  session.stderr.pipe(process.stderr, { end: false });
  let errors = await run(new ByteReader(session.stdout), session.channel);
  session.channel.end();
  const status = await session.exit;
  if (status.code !== 0 && errors === 0) errors = 1;
  return errors;
}

/** scp -3 -O: `scp -f` on the source and `scp -t` on the target, their streams joined here. */
async function legacyThroughLocal(invocation: ScpInvocation, connections: TransferConnection[], source: RemoteSpec, target: RemoteSpec): Promise<number> {
  const from = await connectAsSsh(sshArgv(invocation, source));
  connections.push(from);
  const to = await connectAsSsh(sshArgv(invocation, target));
  connections.push(to);
  const sending = await from.client.exec(remoteCommand(invocation, '-f', source.path!));
  const receiving = await to.client.exec(remoteCommand(invocation, '-t', target.path!));
  sending.stderr.pipe(process.stderr, { end: false });
  receiving.stderr.pipe(process.stderr, { end: false });
  sending.stdout.pipe(receiving.channel);
  receiving.stdout.pipe(sending.channel);
  // When one end has gone, what the other still says (the sink's last acknowledgements once the source has
  // exited) has nowhere to go: pipe() unpipes and pauses that output, and a paused reader holds `exit` back
  // for ever (client/session.ts). Drop it instead.
  for (const [from, to] of [[receiving, sending], [sending, receiving]] as const) {
    to.channel.once('close', () => {
      from.stdout.unpipe(to.channel);
      from.stdout.resume();
    });
  }
  const [sent, received] = await Promise.all([sending.exit, receiving.exit]);
  return sent.code === 0 && received.code === 0 ? 0 : 1;
}
