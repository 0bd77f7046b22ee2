// What an sshd_config directive handler works with, and the generic handlers most keywords use (yes/no and
// other fixed words, integers, times, file names, key algorithm lists). The rules are sshd's (servconf.c
// process_server_config_line_depth): a value is stored only while the line applies, and for most options
// only the first value counts. Errors use sshd's wording.
import { algorithmSpecValid, type AlgorithmFamily } from './algorithms.ts';
import { SshdConfigError } from './errors.ts';
import type { OptionId } from './keywords.ts';
import type { ConnectionInfo } from './match.ts';
import type { SshdOptionSet } from './settings.ts';
import { absolutePath } from './values.ts';
import { parseNonNegativeInt, parseTime } from '../values.ts';

/** An included file as read during the first pass; later passes reuse it (sshd's include cache). */
export interface IncludedFile {
  /** null records a pattern that matched nothing. */
  path: string | null;
  text: string;
}

/** Reads a configuration file; throws SshdConfigError with sshd's message when it cannot. */
export type FileReader = (path: string) => string;

/** State shared by every line of one pass over the configuration. */
export interface PassState {
  options: SshdOptionSet;
  /** null while the file is first read; the connection during a Match pass. */
  connection: ConnectionInfo | null;
  /** Whether directives currently apply (outside Match, or inside a matching Match). */
  active: boolean;
  includes: Map<string, IncludedFile[]>;
  readFile: FileReader;
  /** Directory relative Include paths are taken from (/etc/ssh for sshd). */
  sshDir: string;
  /** Directory relative HostKey, PidFile, ... paths are taken from (sshd's working directory). */
  cwd: string;
  /** Messages sshd logs but does not stop for ("Deprecated option ..."). */
  warnings: string[];
  /** Accept keywords Tether parses but does not implement (only for comparing the parser with sshd's). */
  allowUnimplemented?: boolean;
}

/** Per-file Match state (sshd's SSHCFG_MATCH_ONLY / SSHCFG_NEVERMATCH include flags). */
export interface FileFlags {
  matchOnly: boolean;
  neverMatch: boolean;
}

/** The line a handler is applying. */
export interface DirectiveContext {
  readonly state: PassState;
  readonly opts: SshdOptionSet;
  /** The same option set, by name, for the generic handlers. */
  readonly o: Record<string, unknown>;
  /** Does the line apply now (outside Match, in a matching Match, or from the command line)? */
  readonly active: boolean;
  /** The keyword as written. */
  readonly keyword: string;
  readonly option: OptionId;
  /** The raw text after the keyword (commands take it verbatim). */
  readonly rest: string;
  /** "<file> line <N>", the prefix of every message about this line. */
  readonly where: string;
  /** Arguments not yet taken; handlers shift them off. Any left over are "extra arguments". */
  readonly args: string[];
  /** Lines sshd prints before this line's own message (each handler may add some before failing). */
  readonly errors: string[];
  next(): string | undefined;
  /** The next argument; a fatal error with `message` when there is none. */
  requireArg(message: string): string;
  /** Stores the value unless the line does not apply or the option is already set (first value wins). */
  setFirst(key: string, value: unknown): void;
  /** A fatal error about this line, to throw: sshd stops at once. */
  fatal(message: string): SshdConfigError;
  /** A recoverable error about this line: sshd reports it and reads on, failing at the end of the file. */
  problem(message: string): never;
}

export type DirectiveHandler = (ctx: DirectiveContext) => void;

/** Thrown by DirectiveContext.problem; applyLine turns it into a recoverable error. */
export class LineProblem extends Error {
  override readonly name = 'LineProblem';
}

/** A keyword's fixed words and the value each stands for (servconf.c multistate tables). */
export type Multistate<T> = ReadonlyArray<readonly [string, T]>;

export const FLAG: Multistate<boolean> = [['yes', true], ['no', false]];

/** parse_multistate: one of the table's words, case-insensitively. */
export function multistate<T>(ctx: DirectiveContext, table: Multistate<T>): T {
  const arg = ctx.next();
  if (arg === undefined || arg === '') throw ctx.fatal('missing argument.');
  const hit = table.find(([name]) => name === arg.toLowerCase());
  if (!hit) throw ctx.fatal(`unsupported option "${arg}".`);
  return hit[1];
}

export function choice<T>(table: Multistate<T>): DirectiveHandler {
  return (ctx) => ctx.setFirst(ctx.option, multistate(ctx, table));
}

export const flag: DirectiveHandler = choice(FLAG);

export const integer: DirectiveHandler = (ctx) => {
  const v = parseNonNegativeInt(ctx.next());
  if ('error' in v) throw ctx.fatal(`${ctx.keyword} integer value ${v.error}.`);
  ctx.setFirst(ctx.option, v.value);
};

/** convtime with sshd's messages. */
export function timeValue(ctx: DirectiveContext, arg: string): number {
  const v = parseTime(arg);
  if (v === undefined) throw ctx.fatal('invalid time value.');
  return v;
}

export const time: DirectiveHandler = (ctx) => ctx.setFirst(ctx.option, timeValue(ctx, ctx.requireArg('missing time value.')));

/** A path, made absolute from sshd's working directory ("none" stays). */
export const filename: DirectiveHandler = (ctx) =>
  ctx.setFirst(ctx.option, absolutePath(ctx.requireArg('missing file name.'), ctx.state.cwd));

/** A key algorithm list ("+ssh-rsa", "-ssh-dss", "^ssh-ed25519" or a full list). */
export function keyAlgorithms(family: AlgorithmFamily): DirectiveHandler {
  return (ctx) => {
    const arg = ctx.requireArg('Missing argument.');
    if (!algorithmSpecValid(family, arg)) throw ctx.fatal(`Bad key types '${arg}'.`);
    ctx.setFirst(ctx.option, arg);
  };
}

/** "host:port", "[v6]:port" or "host" (misc.c hpdelim); undefined when the brackets or delimiter are wrong. */
export function splitHostPort(arg: string): { host: string; port: string | null } | undefined {
  let end: number;
  if (arg.startsWith('[')) {
    const close = arg.indexOf(']');
    if (close < 0) return undefined;
    end = close + 1;
  } else {
    const m = /[:/]/.exec(arg);
    end = m ? m.index : arg.length;
  }
  const delim = arg[end];
  if (delim !== undefined && delim !== ':') return undefined;
  return { host: arg.slice(0, end), port: delim === ':' ? arg.slice(end + 1) : null };
}
