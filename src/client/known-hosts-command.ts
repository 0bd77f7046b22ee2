/**
 * KnownHostsCommand (ssh_config(5); sshconnect.c load_hostkeys_command): a program whose standard output is
 * read as known_hosts lines, in addition to the UserKnownHostsFile and GlobalKnownHostsFile files. The
 * command is split into words like a configuration line; every word after the first has its %-tokens and
 * ${VAR}s expanded (the connection's tokens plus %H %I %f %K %t), and the program runs directly, without a
 * shell, stdin from /dev/null and stderr inherited. A non-zero exit is fatal ("KnownHostsCommand failed").
 */
import { isAbsolute } from 'node:path';
import { splitArguments } from '../config/ssh/lexer.ts';
import { expandString } from '../config/ssh/index.ts';
import type { TokenTable } from '../config/ssh/expand.ts';
import { parseKnownHosts, type KnownHostsEntry } from '../keys/known-hosts.ts';
import { fingerprint, type FingerprintHash } from '../keys/fingerprint.ts';
import type { PublicKey } from '../keys/types.ts';

/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');

/** Why the command was run: checking the name, checking the address (CheckHostIP), or ordering algorithms. */
export type KnownHostsInvocation = 'HOSTNAME' | 'ADDRESS' | 'ORDER';

/** The command exited unsuccessfully; ssh stops here with this message. */
export class KnownHostsCommandError extends Error {
  override readonly name = 'KnownHostsCommandError';
  constructor() {
    super('KnownHostsCommand failed');
  }
}

export interface KnownHostsCommandOptions {
  /** The KnownHostsCommand value as configured (unexpanded). */
  command: string;
  /** The connection's tokens (%C %d %h %i %k %L %l %n %p %r %u). */
  tokens: TokenTable;
  env?: NodeJS.ProcessEnv;
  fingerprintHash?: FingerprintHash;
  /** Non-fatal problems, worded as ssh's error() messages. */
  error: (message: string) => void;
  debug?: (message: string) => void;
}

/** Upper bounds: a command that never ends, or prints without end, must not hold the connection forever. */
const OUTPUT_LIMIT = 4 * 1024 * 1024;
const TIMEOUT_MS = 60_000;

/** Runs the command for one lookup; resolves to the entries it printed (empty when it could not run). */
export async function runKnownHostsCommand(
  options: KnownHostsCommandOptions,
  invocation: KnownHostsInvocation,
  hostfileHostname: string,
  key?: PublicKey,
): Promise<KnownHostsEntry[]> {
  const tag = `KnownHostsCommand-${invocation}`;
  const words = splitArguments(options.command);
  if (words === undefined) {
    options.error(`${tag} "${options.command}" contains invalid quotes`);
    return [];
  }
  if (words.length === 0) {
    options.error(`${tag} "${options.command}" yielded no arguments`);
    return [];
  }
  const tokens: TokenTable = {
    ...options.tokens,
    H: hostfileHostname,
    I: invocation,
    t: key?.type ?? 'NONE',
    f: key ? fingerprint(key.blob, options.fingerprintHash ?? 'sha256') : 'NONE',
    K: key ? key.blob.toString('base64') : 'NONE',
  };
  const env = options.env ?? process.env;
  const [program, ...rest] = words as [string, ...string[]];
  const args = rest.map((word) => expandString(word, { tokens, env }));
  if (!isAbsolute(program)) {
    options.error(`${tag} path is not absolute`);
    return [];
  }
  options.debug?.(`${tag}: executing ${[program, ...args].join(' ')}`);
  const output = await capture(program, args, env, tag, options.error);
  if (output === undefined) return [];
  if (output.status !== 0) throw new KnownHostsCommandError();
  return parseKnownHosts(output.stdout, tag).entries;
}

function capture(
  program: string, args: string[], env: NodeJS.ProcessEnv, tag: string, error: (message: string) => void,
): Promise<{ status: number; stdout: string } | undefined> {
  return new Promise((resolve) => {
    const child = childProcess().spawn(program, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= OUTPUT_LIMIT) chunks.push(chunk);
      else if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      error(`Could not stat ${tag} "${program}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : err.message}`);
      resolve(undefined);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // ssh's exited_cleanly(): a signal or a non-zero status is a failure.
      resolve({ status: signal !== null ? 255 : code ?? 255, stdout: Buffer.concat(chunks).toString('utf8') });
    });
  });
}
