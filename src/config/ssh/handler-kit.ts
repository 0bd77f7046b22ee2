/**
 * What an ssh_config keyword handler works with (the line being read) and the generic handlers most keywords
 * use: yes/no and other choices, times, integers, strings, commands, lists and algorithm lists. Handlers
 * follow readconf.c's rules: a value is stored only when its block applies (`ctx.active`) and the option is
 * still unset (the first value wins); errors use OpenSSH's wording.
 */
import { isValidAlgorithmSpec, type AlgorithmFamily } from './algorithms.ts';
import type { NumberSlot, OptionState, StringListSlot, StringSlot } from './options.ts';
import { FLAG, parseChoice, type ChoiceTable } from './values.ts';
import { parseNonNegativeInt, parseTime } from '../values.ts';


/** What a handler sees of the line being processed. */
export interface LineContext {
  readonly state: OptionState;
  /** Does the enclosing Host/Match block apply? */
  readonly active: boolean;
  /** The keyword as written, lower-cased (used in some messages). */
  readonly keyword: string;
  /** The raw text after the keyword (commands take it verbatim). */
  readonly rawRest: string;
  /** A user configuration (or the command line): allows `~` in Include, marks identities user-provided. */
  readonly userConfig: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Takes the next shell-split argument, or undefined. */
  next(): string | undefined;
  /** Arguments not yet taken. */
  remaining(): number;
  /** The argument most recently returned by next(). */
  lastArgument(): string | undefined;
  /** Marks all arguments as used (the keyword took the raw line instead). */
  consumeAll(): void;
  /** Fails the line with `<file> line <N>: <message>`. */
  fail(message: string): never;
  /** Records a non-fatal message as OpenSSH logs it, `<file> line <N>: <message>`, at error or debug1 level. */
  warn(message: string, level: 'error' | 'debug1'): void;
}

export type KeywordHandler = (ctx: LineContext) => void;

export type KeywordSpec =
  | { readonly kind: 'option'; readonly handle: KeywordHandler }
  | { readonly kind: 'structural'; readonly directive: 'host' | 'match' | 'include' };

export function option(handle: KeywordHandler): KeywordSpec {
  return { kind: 'option', handle };
}

export function setNumber(ctx: LineContext, slot: NumberSlot, value: number): void {
  if (ctx.active && ctx.state[slot] === undefined) ctx.state[slot] = value;
}

export function setString(ctx: LineContext, slot: StringSlot, value: string): void {
  if (ctx.active && ctx.state[slot] === undefined) ctx.state[slot] = value;
}

/** yes/no or another fixed set of words (parse_multistate). */
export function choice(slot: NumberSlot, table: ChoiceTable = FLAG): KeywordHandler {
  return (ctx: LineContext) => {
    const arg = ctx.next();
    const code = parseChoice(arg, table);
    if (arg === undefined || arg === '') ctx.fail('missing argument.');
    if (code === undefined) ctx.fail(`unsupported option "${arg}".`);
    setNumber(ctx, slot, code);
  };
}

/** A TIME FORMATS value, or `none`. */
export function time(slot: NumberSlot): KeywordHandler {
  return (ctx: LineContext) => setNumber(ctx, slot, parseTimeArgument(ctx));
}

/** `none` for a time: stored as -1, which OpenSSH prints like an unset value. */
export const NONE_TIME = -1;

export function parseTimeArgument(ctx: LineContext): number {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('missing time value.');
  if (arg === 'none') return NONE_TIME;
  const value = parseTime(arg);
  if (value === undefined) ctx.fail('invalid time value.');
  return value;
}

export function integer(slot: NumberSlot): KeywordHandler {
  return (ctx: LineContext) => {
    const parsed = parseNonNegativeInt(ctx.next());
    if ('error' in parsed) ctx.fail(`integer value ${parsed.error}.`);
    setNumber(ctx, slot, parsed.value);
  };
}

export function requireArgument(ctx: LineContext): string {
  const arg = ctx.next();
  if (arg === undefined || arg === '') ctx.fail('Missing argument.');
  return arg;
}

export function string(slot: StringSlot): KeywordHandler {
  return (ctx: LineContext) => setString(ctx, slot, requireArgument(ctx));
}

/** Commands keep the raw rest of the line (quotes and all), minus leading blanks and `=`. */
export function command(slot: StringSlot): KeywordHandler {
  return (ctx: LineContext) => {
    setString(ctx, slot, ctx.rawRest.replace(/^[ \t\r\n=]+/, ''));
    ctx.consumeAll();
  };
}

/**
 * The arguments of a list keyword one at a time, each checked as readconf.c checks its string lists: none
 * empty, and `none` only alone. Each is checked as it is taken, so a handler's own checks on an earlier
 * argument come first, as in readconf.c.
 */
export function* listArguments(ctx: LineContext): Generator<string, void, undefined> {
  let count = 0;
  for (let arg = ctx.next(); arg !== undefined; arg = ctx.next()) {
    if (arg === '') ctx.fail(`keyword ${ctx.keyword} empty argument`);
    if (arg.toLowerCase() === 'none' && (count > 0 || ctx.remaining() > 0)) {
      ctx.fail(`keyword ${ctx.keyword} "none" argument must appear alone.`);
    }
    count++;
    yield arg;
  }
}

/** A list where the first line that sets it wins; `none` may only appear alone. */
export function stringList(slot: StringListSlot, max: number): KeywordHandler {
  return (ctx: LineContext) => {
    const wasEmpty = ctx.state[slot].length === 0;
    for (const arg of listArguments(ctx)) {
      if (ctx.active && wasEmpty) {
        if (ctx.state[slot].length >= max) ctx.fail(`too many ${ctx.keyword} entries.`);
        ctx.state[slot].push(arg);
      }
    }
  };
}

export function algorithms(slot: StringSlot, family: AlgorithmFamily, label: string): KeywordHandler {
  return (ctx: LineContext) => {
    const arg = requireArgument(ctx);
    if (!isValidAlgorithmSpec(family, arg)) ctx.fail(`${label} '${arg}'.`);
    setString(ctx, slot, arg);
  };
}

export function ignored(): KeywordHandler {
  return (ctx: LineContext) => ctx.consumeAll();
}

/** OpenSSH's oDeprecated: a debug-level notice, then the line is ignored. */
export function deprecated(): KeywordHandler {
  return (ctx: LineContext) => {
    ctx.warn(`Deprecated option "${ctx.keyword}"`, 'debug1');
    ctx.consumeAll();
  };
}

/** OpenSSH's oUnsupported: an error-level message, then the line is ignored. */
export function unsupported(): KeywordHandler {
  return (ctx: LineContext) => {
    ctx.warn(`Unsupported option "${ctx.keyword}"`, 'error');
    ctx.consumeAll();
  };
}
