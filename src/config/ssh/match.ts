/**
 * `Match` conditions (ssh_config(5)): all, canonical, final, exec, host, originalhost, user, localuser,
 * each optionally negated with `!`. Criteria are read with the keyword tokeniser (so `exec "a b"` is one
 * argument) and evaluated left to right; once one fails, later `exec` commands are not run.
 */
import { accessSync, constants } from 'node:fs';
import { FatalProblem } from './errors.ts';
import { expandString, ExpansionError } from './expand.ts';
import { nextDelimitedToken, type TokenCursor } from '../syntax.ts';
import { connectionHash } from './tokens.ts';
import { matchHostname, matchPatternList } from './patterns.ts';

/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');

export interface MatchEnvironment {
  /** The host being looked up: HostName (with %h expanded) if already set, else the destination. */
  host: string;
  originalHost: string;
  /** The user so far: User option, else the local user. */
  remoteUser: string;
  port: number;
  hostKeyAlias: string | undefined;
  localUser: string;
  homeDir: string;
  uid: number;
  /** This machine's host name (gethostname()). */
  thisHost: string;
  finalPass: boolean;
  env: NodeJS.ProcessEnv;
  /** Timeout for each `exec` command, in milliseconds. */
  execTimeoutMs: number;
  file: string;
  line: number;
}

export interface MatchOutcome {
  /** true: the block applies; false: it does not; 'error': a bad condition (diagnostics say why). */
  result: boolean | 'error';
  /** Unread text after the criteria (e.g. a trailing comment is consumed; anything else is an error). */
  rest: string | undefined;
  wantsFinalPass: boolean;
  diagnostics: string[];
}

/** Runs `cmd` through $SHELL -c (or /bin/sh) with stdout/stdin on /dev/null; returns the exit status. */
export function runMatchExec(cmd: string, env: NodeJS.ProcessEnv, timeoutMs: number): number {
  const shell = env.SHELL ?? '/bin/sh';
  try {
    accessSync(shell, constants.X_OK);
  } catch (err) {
    throw new FatalProblem(`Shell "${shell}" is not executable: ${(err as NodeJS.ErrnoException).message}`);
  }
  const child = childProcess().spawnSync(shell, ['-c', cmd], { env, stdio: ['ignore', 'ignore', 'inherit'], timeout: timeoutMs });
  if (child.status === null) return -1; // killed by a signal (or by our timeout): "exited abnormally"
  return child.status;
}

export function evaluateMatch(criteria: string, m: MatchEnvironment): MatchOutcome {
  const cursor: TokenCursor = { rest: criteria };
  const diagnostics: string[] = [];
  let result = true;
  let attributes = 0;
  let wantsFinalPass = false;
  const fail = (text: string): MatchOutcome => {
    diagnostics.push(text);
    return { result: 'error', rest: cursor.rest, wantsFinalPass, diagnostics };
  };

  for (;;) {
    const original = nextDelimitedToken(cursor);
    if (original === undefined || original === '') break;
    if (original.startsWith('#')) {
      cursor.rest = undefined;
      break;
    }
    const negate = original.startsWith('!');
    const attribute = (negate ? original.slice(1) : original).toLowerCase();

    if (attribute === 'all') {
      // "all" takes no argument and must stand alone (or only follow canonical/final).
      const arg = nextDelimitedToken(cursor);
      if (attributes > 1 || (arg !== undefined && arg !== '' && !arg.startsWith('#'))) {
        return fail(`${m.file} line ${m.line}: '${original}' cannot be combined with other Match attributes`);
      }
      if (arg !== undefined && arg.startsWith('#')) cursor.rest = undefined;
      if (result) result = !negate;
      return { result, rest: cursor.rest, wantsFinalPass, diagnostics };
    }
    attributes++;

    if (attribute === 'canonical' || attribute === 'final') {
      if (attribute === 'final') wantsFinalPass = true;
      if (m.finalPass === negate) result = false;
      continue;
    }

    const arg = nextDelimitedToken(cursor);
    if (arg === undefined || arg === '' || arg.startsWith('#')) {
      return fail(`Missing Match criteria for ${attribute}`);
    }
    let matched: boolean;
    switch (attribute) {
      case 'host':
        matched = matchHostname(m.host, arg) === 1;
        break;
      case 'originalhost':
        matched = matchHostname(m.originalHost, arg) === 1;
        break;
      case 'user':
        matched = matchPatternList(m.remoteUser, arg, false) === 1;
        break;
      case 'localuser':
        matched = matchPatternList(m.localUser, arg, false) === 1;
        break;
      case 'exec': {
        const cmd = expandExecCommand(arg, m);
        // A condition already failed: skip running the command.
        if (!result) continue;
        const status = runMatchExec(cmd, m.env, m.execTimeoutMs);
        if (status === -1) throw new FatalProblem(`${m.file} line ${m.line}: match exec '${cmd.slice(0, 100)}' error`);
        matched = status === 0;
        break;
      }
      default:
        return fail(`Unsupported Match attribute ${attribute}`);
    }
    if (matched === negate) result = false;
  }
  if (attributes === 0) return fail('One or more attributes required for Match');
  return { result, rest: cursor.rest, wantsFinalPass, diagnostics };
}

function expandExecCommand(arg: string, m: MatchEnvironment): string {
  const port = String(m.port);
  try {
    return expandString(arg, {
      tokens: {
        C: connectionHash(m.thisHost, m.host, port, m.remoteUser),
        L: m.thisHost.split('.')[0]!,
        d: m.homeDir,
        h: m.host,
        k: m.hostKeyAlias ?? m.host,
        l: m.thisHost,
        n: m.originalHost,
        p: port,
        r: m.remoteUser,
        u: m.localUser,
        i: String(m.uid),
      },
    });
  } catch (err) {
    if (err instanceof ExpansionError) throw new FatalProblem(`percent_expand: ${err.message}`);
    throw err;
  }
}
