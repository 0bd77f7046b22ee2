/**
 * AuthorizedKeysCommand (sshd_config(5); auth2-pubkey.c user_key_command_allowed2 and misc.c subprocess):
 * a program that prints authorized_keys lines for the user logging in. As sshd does, the command line is
 * split like argv_split, the arguments after the program get the %-tokens, a command without arguments gets
 * the user name, and the program must be an absolute path owned by root in directories only root can
 * write. It runs as AuthorizedKeysCommandUser with stdin from /dev/null and a minimal environment; its
 * output only counts when it exits with status 0. We also bound its run time and output, and log its
 * stderr, which sshd passes through unbounded.
 */
import { spawn } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, isAbsolute } from 'node:path';
import { splitArguments } from '../config/syntax.ts';
import { expandString, ExpansionError } from '../config/ssh/expand.ts';
import { fingerprint, type FingerprintHash, type PublicKey } from '../keys/index.ts';
import { lookupAccount, type UserAccount } from './accounts.ts';
import { commandAs, type RunAs } from '../sessions/session-process.ts';
import { sanitizeForLog, type ServerLogger } from './logger.ts';

const TAG = 'AuthorizedKeysCommand';
/** sshd's _PATH_STDPATH: the PATH the command gets, whatever the server's own is. */
const STANDARD_PATH = '/usr/bin:/bin:/usr/sbin:/sbin';
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
/** authorized_keys output for one user is small; more than this is a runaway program. */
export const MAX_COMMAND_OUTPUT_BYTES = 1024 * 1024;
const MAX_STDERR_BYTES = 16 * 1024;

export interface KeysCommandRequest {
  /** The AuthorizedKeysCommand setting as written. */
  command: string;
  /** AuthorizedKeysCommandUser (may contain %u). */
  commandUser: string;
  /** The account logging in. */
  account: UserAccount;
  key: PublicKey;
  fingerprintHash: FingerprintHash;
  /**
   * The keyword the command came from, for log lines: AuthorizedKeysCommand (default) or
   * AuthorizedPrincipalsCommand, which runs the same way with its own tokens.
   */
  tag?: string;
  /** %-tokens that replace or add to the key's (AuthorizedPrincipalsCommand's %i %s %T %F %K). */
  tokens?: Record<string, string>;
  /** For %C: "client-address client-port server-address server-port". */
  connection: { peer: { address: string; port: number }; local: { address: string; port: number } };
  logger: ServerLogger;
  timeoutMs?: number;
}

/** argv_assemble: the command as sshd prints it in log lines. */
function assemble(args: readonly string[]): string {
  return args
    .map((arg) => {
      const escaped = arg.replace(/[\\'"]/g, (c) => `\\${c}`);
      return /[ \t]/.test(arg) ? `"${escaped}"` : escaped;
    })
    .join(' ');
}

/**
 * misc.c safe_path for the program with uid 0 and no home: the file and every directory up to / must be
 * owned by root and writable by nobody else. Returns the complaint, or undefined when safe.
 */
async function unsafeProgramReason(path: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return `realpath ${path} failed: ${(error as Error).message}`;
  }
  const info = await stat(real);
  if (!info.isFile()) return `${real} is not a regular file`;
  if (info.uid !== 0 || (info.mode & 0o022) !== 0) return `bad ownership or modes for file ${real}`;
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    const dirInfo = await stat(dir).catch(() => undefined);
    if (!dirInfo || dirInfo.uid !== 0 || (dirInfo.mode & 0o022) !== 0) return `bad ownership or modes for directory ${dir}`;
    if (dir === '/' || dirname(dir) === dir) return undefined;
  }
}

/** The argument vector with %-tokens expanded, or undefined after logging why there is none. */
async function commandLine(request: KeysCommandRequest): Promise<string[] | undefined> {
  const { command, account, key, logger, connection } = request;
  const args = splitArguments(command, false);
  if (args === undefined) {
    logger.error(`${request.tag ?? TAG} "${command}" contains invalid quotes`);
    return undefined;
  }
  if (args.length === 0) {
    logger.error(`${request.tag ?? TAG} "${command}" yielded no arguments`);
    return undefined;
  }
  // sshd_config(5) TOKENS for AuthorizedKeysCommand (%C and %D as OpenSSH 9.4 added them).
  const tokens = {
    C: `${connection.peer.address} ${connection.peer.port} ${connection.local.address} ${connection.local.port}`,
    D: '',
    f: fingerprint(key.blob, request.fingerprintHash),
    h: account.home,
    k: key.blob.toString('base64'),
    t: key.type,
    U: String(account.uid),
    u: account.name,
    ...request.tokens,
  };
  try {
    const expanded = [args[0]!, ...args.slice(1).map((arg) => expandString(arg, { tokens }))];
    // Without arguments the program gets the user name, as before sshd had tokens.
    return expanded.length === 1 ? [expanded[0]!, account.name] : expanded;
  } catch (error) {
    if (!(error instanceof ExpansionError)) throw error;
    logger.error(`percent_expand: ${error.message}`);
    return undefined;
  }
}

/**
 * Runs the command for one key. Resolves with its output when it ran and exited with status 0, otherwise
 * with undefined after logging why, in sshd's words where sshd has them.
 */
export async function runAuthorizedKeysCommand(request: KeysCommandRequest): Promise<string | undefined> {
  const { logger } = request;
  let runAsName: string;
  try {
    runAsName = expandString(request.commandUser, { tokens: { u: request.account.name } });
  } catch (error) {
    if (!(error instanceof ExpansionError)) throw error;
    logger.error(`percent_expand: ${error.message}`);
    return undefined;
  }
  const runAsAccount = await lookupAccount(runAsName);
  if (!runAsAccount) {
    logger.error(`${request.tag ?? TAG}User "${sanitizeForLog(runAsName)}" not found`);
    return undefined;
  }
  const args = await commandLine(request);
  if (!args) return undefined;
  const program = args[0]!;
  const printable = assemble(args);

  if (!isAbsolute(program)) {
    logger.error(`${request.tag ?? TAG} path is not absolute`);
    return undefined;
  }
  try {
    await stat(program);
  } catch (error) {
    logger.error(`Could not stat ${request.tag ?? TAG} "${program}": ${systemErrorText(error)}`);
    return undefined;
  }
  const unsafe = await unsafeProgramReason(program);
  if (unsafe) {
    logger.error(`Unsafe ${request.tag ?? TAG} "${program}": ${unsafe}`);
    return undefined;
  }

  const ownUid = process.getuid?.() ?? 0;
  let runAs: RunAs | undefined;
  if (ownUid === 0) runAs = { uid: runAsAccount.uid, gid: runAsAccount.gid };
  else if (runAsAccount.uid !== ownUid) {
    logger.error(`${request.tag ?? TAG}: setresuid ${runAsAccount.uid}: Operation not permitted`);
    return undefined;
  }
  return spawnAndCollect(commandAs(runAs, program, args.slice(1)), runAsAccount, printable, request);
}

function systemErrorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'ENOTDIR') return 'Not a directory';
  return (error as Error).message;
}

function spawnAndCollect(
  invocation: { file: string; args: string[] },
  runAs: UserAccount,
  printable: string,
  request: KeysCommandRequest,
): Promise<string | undefined> {
  const { logger } = request;
  const env: Record<string, string> = { PATH: STANDARD_PATH, USER: runAs.name, LOGNAME: runAs.name, HOME: runAs.home };
  if (process.env.LANG !== undefined) env.LANG = process.env.LANG;
  return new Promise((resolve) => {
    const child = spawn(invocation.file, invocation.args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: '/', detached: true });
    // A spawn that fails (EMFILE, EAGAIN) leaves no pid and no pipes and reports on the next tick; it must
    // end this lookup with "no keys", never throw into the server.
    if (child.pid === undefined || child.stdout === null || child.stderr === null) {
      child.once('error', (error) => {
        logger.error(`${request.tag ?? TAG}: ${printable}: ${error.message}`);
        resolve(undefined);
      });
      return;
    }
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let problem: string | undefined;
    // The command runs in its own process group so that a timeout also ends whatever it started.
    const stop = (reason: string): void => {
      problem ??= reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => stop(`${request.tag ?? TAG} ${printable} timed out`), request.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_COMMAND_OUTPUT_BYTES) return stop(`${request.tag ?? TAG} ${printable} output exceeds ${MAX_COMMAND_OUTPUT_BYTES} bytes`);
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.toString('utf8').slice(0, MAX_STDERR_BYTES - stderr.length);
    });
    child.on('error', (error) => stop(`${request.tag ?? TAG}: ${error.message}`));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      for (const line of stderr.split('\n')) if (line.trim() !== '') logger.info(`${request.tag ?? TAG} stderr: ${sanitizeForLog(line)}`);
      if (problem !== undefined) {
        logger.error(problem);
        resolve(undefined);
      } else if (signal !== null) {
        logger.error(`${request.tag ?? TAG} ${printable} exited on signal ${constants.signals[signal] ?? signal}`);
        resolve(undefined);
      } else if (status !== 0) {
        logger.info(`${request.tag ?? TAG} ${printable} failed, status ${status}`);
        resolve(undefined);
      } else {
        resolve(Buffer.concat(stdout).toString('utf8'));
      }
    });
  });
}
