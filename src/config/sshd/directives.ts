// Applying sshd_config lines to the option set being built, with sshd's rules (servconf.c
// process_server_config_line_depth): the keyword is looked up (keywords.ts), checked against its scope
// (global keywords are refused inside Match), and handed to its handler (handlers.ts); Match and Include are
// handled here. For most options the first value wins; HostKey, Port, ListenAddress, AcceptEnv, Subsystem
// and Allow/Deny Users/Groups accumulate; a few (MaxStartups, IPQoS, FingerprintHash, ...) take the last
// value, as sshd does. Errors use sshd's wording. A keyword Tether parses but does not act on is refused
// (support.ts) unless its value asks for nothing Tether lacks.
import { SshdConfigError, SshdConfigErrors } from './errors.ts';
import { globPaths as expandIncludePattern } from '../glob.ts';
import {
  LineProblem, type DirectiveContext, type DirectiveHandler, type FileFlags, type PassState,
} from './directive-kit.ts';
import { HANDLERS } from './handlers.ts';
import { lookupKeyword, type KeywordInfo } from './keywords.ts';
import { evaluateMatchLine } from './match.ts';
import type { SshdOptionSet } from './settings.ts';
import { UNIMPLEMENTED } from './support.ts';
import { splitArguments, splitDirective } from '../syntax.ts';

export type { FileFlags, FileReader, IncludedFile, PassState } from './directive-kit.ts';
export { methodListProblem } from './handlers-access.ts';

const MAX_INCLUDE_DEPTH = 16;

/** What one line is, once split: where it is, its keyword and arguments, and whether it applies. */
interface Line {
  state: PassState;
  file: string;
  lineNo: number;
  where: string;
  keyword: string;
  rest: string;
  args: string[];
  active: boolean;
  errors: string[];
}

function contextFor(line: Line, info: KeywordInfo, options: SshdOptionSet, active: boolean, args: string[]): DirectiveContext {
  const fatal = (msg: string): SshdConfigError => new SshdConfigError(line.file, line.lineNo, [...line.errors, `${line.where}: ${msg}`]);
  const o = options as Record<string, unknown>;
  return {
    state: line.state,
    opts: options,
    o,
    active,
    keyword: line.keyword,
    option: info.option,
    rest: line.rest,
    where: line.where,
    args,
    errors: line.errors,
    next: () => args.shift(),
    requireArg: (message) => {
      const arg = args.shift();
      if (arg === undefined || arg === '') throw fatal(message);
      return arg;
    },
    setFirst: (key, value) => {
      if (active && o[key] === undefined) o[key] = value;
    },
    fatal,
    problem: (message) => {
      throw new LineProblem(`${line.where}: ${message}`);
    },
  };
}

/**
 * Runs a handler, and refuses the line when it makes the configuration ask for something Tether does not
 * implement. A line that applies is judged by what it changes (a value set earlier, e.g. by -o, wins
 * anyway); a line in a Match block that does not apply now is judged by what it would set.
 */
function runHandler(line: Line, info: KeywordInfo, handler: DirectiveHandler): void {
  const refusal = UNIMPLEMENTED[info.option];
  const check = refusal !== undefined && !line.state.allowUnimplemented && line.state.connection === null;
  const options = line.state.options;
  if (!check) {
    handler(contextFor(line, info, options, line.active, line.args));
    return;
  }
  if (line.active) {
    const before = refusal.asks(options);
    handler(contextFor(line, info, options, true, line.args));
    if (!before && refusal.asks(options)) refuse(line);
    return;
  }
  // Nothing is stored from a line that does not apply, so parsing it into a scratch set changes nothing.
  const scratch: SshdOptionSet = {};
  handler(contextFor(line, info, scratch, true, line.args));
  if (refusal.asks(scratch)) refuse(line);
}

function refuse(line: Line): never {
  throw new LineProblem(`${line.where}: Unsupported option ${line.keyword}`);
}

/**
 * Handles one line. Returns sshd's messages for a recoverable error (sshd counts these and stops at the end
 * of the file), or null. Throws SshdConfigError for a fatal one.
 */
export function applyLine(
  state: PassState,
  rawLine: string,
  file: string,
  lineNo: number,
  flags: FileFlags,
  depth: number,
  commandLine: boolean,
): string[] | null {
  const split = splitDirective(rawLine);
  if (split === null) return null;
  const { keyword, rest } = split;
  const where = `${file} line ${lineNo}`;
  if (rest === '') return [`${where}: no argument after keyword "${keyword}"`];
  const info = lookupKeyword(keyword);
  const errors: string[] = [];
  if (!info) errors.push(`${file}: line ${lineNo}: Bad configuration option: ${keyword}`);
  const args = splitArguments(rest);
  if (args === undefined) return [...errors, `${where}: invalid quotes`];
  const active = commandLine || state.active;

  if (!active && info?.scope !== 'all') {
    if (state.connection === null) {
      throw new SshdConfigError(file, lineNo, [...errors, `${where}: Directive '${keyword}' is not allowed within a Match block`]);
    }
    return null; // a global directive, already applied in the first pass
  }
  if (!info) return errors;

  const line: Line = { state, file, lineNo, where, keyword, rest, args, active, errors };
  try {
    if (info.option === 'include') {
      if (commandLine) throw new SshdConfigError(file, lineNo, ['Include directive not supported as a command-line option']);
      return applyInclude(line, flags, depth);
    }
    if (info.option === 'match') {
      if (commandLine) throw new SshdConfigError(file, lineNo, ['Match directive not supported as a command-line option']);
      applyMatch(line, flags);
    } else {
      runHandler(line, info, HANDLERS[info.option]);
    }
  } catch (e) {
    if (e instanceof LineProblem) return [...errors, e.message];
    throw e;
  }
  if (args.length > 0) return [...errors, `${where}: keyword ${keyword} extra arguments at end of line`];
  return errors.length > 0 ? errors : null;
}

function applyMatch(line: Line, flags: FileFlags): void {
  const { state } = line;
  try {
    const matched = evaluateMatchLine(line.rest, line.file, line.lineNo, flags.neverMatch ? null : state.connection);
    state.active = flags.neverMatch ? false : matched;
  } catch (e) {
    if (e instanceof SshdConfigError && line.errors.length > 0) {
      throw new SshdConfigError(e.file, e.line, [...line.errors, ...e.sshdLines]);
    }
    throw e;
  }
  flags.matchOnly = false;
  line.args.length = 0;
}

/**
 * Reads an Include line's patterns (relative ones under sshDir) and parses every file they name, reusing
 * files read earlier for the same pattern as sshd does.
 */
function applyInclude(line: Line, flags: FileFlags, depth: number): string[] | null {
  const { state, where, keyword, errors } = line;
  let count = 0;
  for (const raw of line.args.splice(0)) {
    if (raw === '') return [...errors, `${where}: keyword ${keyword} empty argument`];
    count++;
    const pattern = raw.startsWith('/') || raw.startsWith('~') ? raw : `${state.sshDir}/${raw}`;
    // An included file must not change the including file's Match state.
    const outerActive = state.active;
    const childFlags = (): FileFlags =>
      flags.matchOnly ? { matchOnly: true, neverMatch: false } : { matchOnly: false, neverMatch: !outerActive };
    let cached = state.includes.get(pattern);
    if (!cached) {
      cached = expandIncludePattern(pattern).map((path) => ({ path, text: state.readFile(path) }));
      if (cached.length === 0) cached = [{ path: null, text: '' }];
      state.includes.set(pattern, cached);
    }
    for (const included of cached) {
      if (included.path === null) continue;
      parseConfigText(state, included.path, included.text, childFlags(), depth + 1);
      state.active = outerActive;
    }
  }
  if (count === 0) throw new SshdConfigError(line.file, line.lineNo, [...errors, `${where}: ${keyword} missing filename argument`]);
  return errors.length > 0 ? errors : null;
}

/**
 * One file's lines through applyLine (servconf.c parse_server_config_depth). Recoverable errors are
 * collected and reported together at the end of the file, as sshd does.
 */
export function parseConfigText(state: PassState, file: string, text: string, flags: FileFlags, depth: number): void {
  if (depth < 0 || depth > MAX_INCLUDE_DEPTH) {
    throw new SshdConfigError(file, 0, ['Too many recursive configuration includes']);
  }
  const problems: SshdConfigError[] = [];
  const lines = text.split('\n');
  // A final newline does not start another line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, index) => {
    try {
      const result = applyLine(state, line, file, index + 1, flags, depth, false);
      if (result && result.length > 0) problems.push(new SshdConfigError(file, index + 1, result));
    } catch (e) {
      if (e instanceof SshdConfigError && problems.length > 0) {
        throw new SshdConfigError(e.file, e.line, [...problems.flatMap((p) => p.sshdLines), ...e.sshdLines]);
      }
      throw e;
    }
  });
  if (problems.length > 0) throw new SshdConfigErrors(file, problems);
}
