/**
 * Reading configuration files line by line (readconf.c's read_config_file/process_config_line): Host and
 * Match blocks switch options on and off, Include pulls in files (globbed, nested up to 16 deep, inheriting
 * the current block's state), and every other keyword goes to its handler in the keyword table.
 * A file with bad lines is read to the end, then rejected with OpenSSH's "terminating" message.
 */
import { fstatSync, openSync, closeSync, readFileSync } from 'node:fs';
import { ConfigError, FatalProblem, LineProblem, type ConfigDiagnostic, type ConfigWarning } from './errors.ts';
import { expandString, expandTilde, ExpansionError } from './expand.ts';
import { globPaths } from '../glob.ts';
import { KEYWORDS, type LineContext } from './keywords.ts';
import { splitArguments, splitLine } from './lexer.ts';
import { refusalOf } from './support.ts';
import { evaluateMatch } from './match.ts';
import { splitHostNameAlternates } from './destination.ts';
import type { OptionState } from './options.ts';
import { matchPattern, matchPatternList } from './patterns.ts';

/** OpenSSH's READCONF_MAX_DEPTH. */
export const MAX_INCLUDE_DEPTH = 16;

export interface ReaderEnvironment {
  homeDir: string;
  localUser: string;
  uid: number;
  /** This machine's host name, for %l/%L/%C in Match exec. */
  thisHost: string;
  /** Where relative Include paths of the system file resolve (OpenSSH's SSHDIR, /etc/ssh). */
  systemDir: string;
  env: NodeJS.ProcessEnv;
  /** Upper bound on each Match exec command. */
  execTimeoutMs: number;
}

/** One reading pass over all configuration sources. */
export interface ReadPass {
  readonly state: OptionState;
  /** The name Host patterns are matched against. */
  readonly host: string;
  /** The destination as typed (Match originalhost). */
  readonly originalHost: string;
  readonly finalPass: boolean;
  /** Set when any `Match final` (or canonical) was seen: ssh then reads everything again. */
  wantsFinalPass: boolean;
  /** Everything ssh would print to stderr so far (errors and warnings), in order. */
  readonly printed: string[];
  readonly warnings: ConfigWarning[];
  /** Accept values Tether does not act on (support.ts) instead of refusing them; only for tests against ssh -G. */
  readonly allowUnimplemented?: boolean;
}

export interface FileFlags {
  /** A user configuration (~/.ssh/config, -F file, or its includes). */
  userConfig: boolean;
  /** Refuse files writable by others or owned by someone else. */
  checkPermissions: boolean;
  /** Inside an Include from a block that does not apply: parse only. */
  neverMatch: boolean;
}

interface ActiveRef {
  active: boolean;
}

const COMMAND_LINE = 'command-line';

/**
 * Reads one file into the pass. Returns false when the file cannot be opened (a missing file is not an
 * error for the default files). Throws ConfigError for bad content or permissions.
 */
export function readConfigFile(path: string, flags: FileFlags, pass: ReadPass, env: ReaderEnvironment, activeRef: ActiveRef = { active: true }, depth = 0): boolean {
  if (depth > MAX_INCLUDE_DEPTH) fatal(pass, 'Too many recursive configuration includes', path, undefined);
  let text: string;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    if (flags.checkPermissions) {
      const st = fstatSync(fd);
      if ((st.uid !== 0 && st.uid !== env.uid) || (st.mode & 0o022) !== 0) {
        fatal(pass, `Bad owner or permissions on ${path}`, path, undefined);
      }
    }
    try {
      text = readFileSync(fd, 'utf8');
    } catch {
      text = ''; // a directory reads as empty, as getline() fails on it
    }
  } finally {
    closeSync(fd);
  }

  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const diagnostics: ConfigDiagnostic[] = [];
  let bad = 0;
  lines.forEach((line, index) => {
    const ok = processLine(line, path, index + 1, activeRef, flags, pass, env, depth, diagnostics);
    if (!ok) bad++;
  });
  if (bad > 0) {
    const closing = `${path}: terminating, ${bad} bad configuration options`;
    pass.printed.push(closing);
    const first = diagnostics[0];
    throw new ConfigError(first?.text ?? closing, path, first?.line, diagnostics, pass.printed.join('\n'));
  }
  return true;
}

/**
 * Applies one `-o` option. Command-line options always apply; Host, Match and Include are refused.
 * Throws ConfigError at once on a bad option, as ssh exits.
 */
export function processCommandLineOption(option: string, pass: ReadPass, env: ReaderEnvironment): void {
  const diagnostics: ConfigDiagnostic[] = [];
  const ok = processLine(option, COMMAND_LINE, 0, undefined, { userConfig: true, checkPermissions: false, neverMatch: false }, pass, env, 0, diagnostics);
  if (!ok) {
    const first = diagnostics[0];
    throw new ConfigError(first?.text ?? `${COMMAND_LINE}: bad option`, COMMAND_LINE, 0, diagnostics, pass.printed.join('\n'));
  }
}

/**
 * The warnings ssh shows on stderr: those from -o options at its initial level (INFO), those from files at
 * `fileLevel`, the level the command line set before the files were read (OpenSSH's log levels); debug
 * ones carry ssh's "debug1: " prefix.
 */
export function shownWarnings(warnings: readonly ConfigWarning[], fileLevel: number): string[] {
  const ERROR = 2;
  const DEBUG1 = 5;
  return warnings
    .filter((w) => {
      const level = w.level === 'debug1' ? DEBUG1 : ERROR;
      return level <= (w.file === COMMAND_LINE ? 3 : fileLevel);
    })
    .map((w) => (w.level === 'debug1' ? `debug1: ${w.text}` : w.text));
}

function fatal(pass: ReadPass, text: string, file: string, line: number | undefined): never {
  pass.printed.push(text);
  throw new ConfigError(text, file, line, [{ file, line: line ?? 0, text }], pass.printed.join('\n'));
}

/** Processes one line; returns false when it is bad (the diagnostic has been recorded). */
function processLine(
  rawLine: string, file: string, lineNo: number, activeRef: ActiveRef | undefined, flags: FileFlags,
  pass: ReadPass, env: ReaderEnvironment, depth: number, diagnostics: ConfigDiagnostic[],
): boolean {
  const commandLine = activeRef === undefined;
  const active: ActiveRef = activeRef ?? { active: true };
  const report = (text: string): false => {
    diagnostics.push({ file, line: lineNo, text });
    pass.printed.push(text);
    return false;
  };
  const prefix = `${file} line ${lineNo}: `;

  const split = splitLine(rawLine);
  if (split.kind === 'empty') return true;
  if (split.kind === 'missing-argument') return report(`${prefix}no argument after keyword "${split.keyword}"`);
  const { keyword, rest } = split;

  const spec = KEYWORDS.get(keyword);
  let ignoredUnknown = false;
  if (spec === undefined) {
    const ignore = pass.state.ignoreUnknown;
    if (ignore !== undefined && matchPatternList(keyword, ignore, true) === 1) ignoredUnknown = true;
    else report(`${file}: line ${lineNo}: Bad configuration option: ${keyword}`);
  }
  const args = splitArguments(rest);
  if (args === undefined) return report(`${prefix}invalid quotes`);
  if (spec === undefined) return ignoredUnknown;

  let cursor = 0;
  let last: string | undefined;
  const ctx: LineContext = {
    state: pass.state,
    active: active.active,
    keyword,
    rawRest: rest,
    userConfig: flags.userConfig,
    env: env.env,
    next: () => {
      last = args[cursor++];
      if (cursor > args.length) cursor = args.length;
      return last;
    },
    remaining: () => args.length - cursor,
    lastArgument: () => last,
    consumeAll: () => {
      cursor = args.length;
    },
    fail: (message: string): never => {
      throw new LineProblem(prefix + message);
    },
    warn: (message: string, level: 'error' | 'debug1') => {
      const text = prefix + message;
      pass.warnings.push({ file, line: lineNo, text, level });
      // Debug-level notices are not part of what ssh prints at its default level.
      if (level === 'error') pass.printed.push(text);
    },
  };

  try {
    if (spec.kind === 'option') {
      // A line is refused when it makes the effective value ask for something Tether does not implement; a
      // value set earlier (first wins, e.g. by -o) or a block that does not apply leaves it harmless.
      const refusal = pass.allowUnimplemented ? undefined : refusalOf(keyword);
      const before = refusal?.asks(pass.state) ?? false;
      spec.handle(ctx);
      if (refusal !== undefined && !before && refusal.asks(pass.state)) {
        if (refusal.kind === 'refused') return report(`${prefix}Unsupported option "${keyword}"`);
        ctx.warn(`Unsupported option "${keyword}"`, 'error');
      }
    } else if (spec.directive === 'host') {
      if (commandLine) return report('Host directive not supported as a command-line option');
      cursor = applyHost(args, active, flags, pass, prefix, keyword, report);
      if (cursor < 0) return false;
    } else if (spec.directive === 'match') {
      if (commandLine) return report('Host directive not supported as a command-line option');
      if (!applyMatch(rest, active, flags, pass, env, file, lineNo, report)) return false;
      cursor = args.length;
    } else {
      if (commandLine) return report('Include directive not supported as a command-line option');
      const ok = applyInclude(args, active, flags, pass, env, depth, prefix, keyword, report);
      cursor = args.length;
      if (!ok) return false;
    }
  } catch (err) {
    if (err instanceof LineProblem) return report(err.message);
    if (err instanceof FatalProblem) fatal(pass, err.message, file, lineNo);
    throw err;
  }

  if (cursor < args.length) return report(`${prefix}keyword ${keyword} extra arguments at end of line`);
  return true;
}

/** Host: the block applies if any pattern matches and no negated pattern does. Returns args consumed, or -1. */
function applyHost(args: string[], active: ActiveRef, flags: FileFlags, pass: ReadPass, prefix: string, keyword: string, report: (t: string) => false): number {
  active.active = false;
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    if (arg === '') {
      report(`${prefix}keyword ${keyword} empty argument`);
      return -1;
    }
    if (flags.neverMatch) return args.length;
    const negated = arg.startsWith('!');
    if (negated) arg = arg.slice(1);
    if (matchPattern(pass.host, arg)) {
      if (negated) {
        active.active = false;
        return args.length;
      }
      active.active = true;
    }
  }
  return args.length;
}

function applyMatch(rest: string, active: ActiveRef, flags: FileFlags, pass: ReadPass, env: ReaderEnvironment, file: string, lineNo: number, report: (t: string) => false): boolean {
  const { state } = pass;
  const remoteUser = state.user ?? env.localUser;
  let host: string;
  if (pass.finalPass) host = state.hostname ?? pass.host;
  else if (state.hostname !== undefined) {
    try {
      // Of HostName's alternates (Tether's failover list), Match host tests the first, as %h names it.
      host = splitHostNameAlternates(expandString(state.hostname, { tokens: { h: pass.host } }))[0]!;
    } catch (err) {
      if (err instanceof ExpansionError) throw new FatalProblem(`percent_expand: ${err.message}`);
      throw err;
    }
  } else host = pass.host;

  const outcome = evaluateMatch(rest, {
    host,
    originalHost: pass.originalHost,
    remoteUser,
    port: state.port ?? 22,
    hostKeyAlias: state.hostKeyAlias,
    localUser: env.localUser,
    homeDir: env.homeDir,
    uid: env.uid,
    thisHost: env.thisHost,
    finalPass: pass.finalPass,
    env: env.env,
    execTimeoutMs: env.execTimeoutMs,
    file,
    line: lineNo,
  });
  if (outcome.wantsFinalPass) pass.wantsFinalPass = true;
  if (outcome.result === 'error') {
    for (const d of outcome.diagnostics) report(d);
    report(`${file} line ${lineNo}: Bad Match condition`);
    return false;
  }
  active.active = flags.neverMatch ? false : outcome.result;
  if (outcome.rest !== undefined && outcome.rest !== '') {
    report(`${file} line ${lineNo}: keyword match extra arguments at end of line`);
    return false;
  }
  return true;
}

function applyInclude(args: string[], active: ActiveRef, flags: FileFlags, pass: ReadPass, env: ReaderEnvironment, depth: number, prefix: string, keyword: string, report: (t: string) => false): boolean {
  let ok = true;
  for (const arg of args) {
    if (arg === '') return report(`${prefix}keyword ${keyword} empty argument`);
    // User files may use ~/; relative paths live in ~/.ssh (user) or /etc/ssh (system).
    if (arg.startsWith('~') && !flags.userConfig) return report(`${prefix}bad include path ${arg}.`);
    let pattern = arg;
    if (!arg.startsWith('/') && !arg.startsWith('~')) {
      pattern = flags.userConfig ? `~/.ssh/${arg}` : `${env.systemDir}/${arg}`;
    }
    if (pattern.startsWith('~')) {
      try {
        pattern = expandTilde(pattern, env.homeDir);
      } catch {
        continue; // glob(3) with GLOB_TILDE treats an unknown ~user as no match
      }
    }
    const outerActive = active.active;
    for (const path of globPaths(pattern)) {
      const found = readConfigFile(
        path,
        { userConfig: flags.userConfig, checkPermissions: true, neverMatch: flags.neverMatch || !outerActive },
        pass, env, active, depth + 1,
      );
      // Match/Host inside the included file must not leak into the including file.
      active.active = outerActive;
      if (!found) ok = false;
    }
  }
  return ok;
}
