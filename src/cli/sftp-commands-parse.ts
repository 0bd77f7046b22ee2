/**
 * sftp's command lines, parsed as sftp.c parse_args and makeargv do: the `-` (carry on after an error) and
 * `@` (do not echo) prefixes of batch files, sh-like words with quotes and backslashes where quoted or
 * escaped wildcards stay escaped for glob, each command's getopt flags, and the paths and numbers each
 * command takes. Errors are OpenSSH's messages.
 */

export const LS = {
  long: 0x0001, short: 0x0002, numeric: 0x0004, nameSort: 0x0008, timeSort: 0x0010, sizeSort: 0x0020,
  reverse: 0x0040, all: 0x0080, siUnits: 0x0100,
} as const;
const VIEW_FLAGS = LS.long | LS.short | LS.numeric | LS.siUnits;
export const SORT_FLAGS = LS.nameSort | LS.timeSort | LS.sizeSort;

export type CommandName =
  | 'cd' | 'chgrp' | 'chmod' | 'chown' | 'copy' | 'df' | 'get' | 'help' | 'lcd' | 'link' | 'lls' | 'lmkdir' | 'lpwd' | 'ls'
  | 'lumask' | 'mkdir' | 'put' | 'pwd' | 'quit' | 'reget' | 'rename' | 'reput' | 'rm' | 'rmdir' | 'shell' | 'symlink'
  | 'version' | 'progress';

/** The command table of sftp.c, word → command. */
const COMMANDS: Record<string, CommandName> = {
  bye: 'quit', cd: 'cd', chdir: 'cd', chgrp: 'chgrp', chmod: 'chmod', chown: 'chown', copy: 'copy', cp: 'copy', df: 'df',
  dir: 'ls', exit: 'quit', get: 'get', help: 'help', lcd: 'lcd', lchdir: 'lcd', lls: 'lls', lmkdir: 'lmkdir', ln: 'link',
  lpwd: 'lpwd', ls: 'ls', lumask: 'lumask', mkdir: 'mkdir', mget: 'get', mput: 'put', progress: 'progress', put: 'put',
  pwd: 'pwd', quit: 'quit', reget: 'reget', rename: 'rename', reput: 'reput', rm: 'rm', rmdir: 'rmdir', symlink: 'symlink',
  version: 'version', '!': 'shell', '?': 'help',
};

export interface ParsedCommand {
  command: CommandName;
  /** The word as typed (for messages: "You must specify ... after a get command."). */
  word: string;
  /** Single-letter flags given (get/put -afpR, ln -s, rename -l, df -hi, ch* -h). */
  flags: Set<string>;
  /** ls's view and sort flags (LS.*). */
  lsFlags: number;
  path1?: string;
  path2?: string;
  /** chmod's octal mode, chown/chgrp's id, lumask's mask. */
  number?: number;
  /** The rest of the line, for `!` and `lls`. */
  rest: string;
}

export interface ParsedLine {
  ignoreErrors: boolean;
  disableEcho: boolean;
  /** undefined for a blank line or a comment. */
  command?: ParsedCommand;
  /** The message when the line is not a valid command. */
  error?: string;
}

const MAX_ARGS = 128;
const MAX_LINE = 8192;

/** sftp.c makeargv: words with sh-style quoting, `#` comments; wildcards that are quoted or escaped stay `\`-escaped. */
export function makeArgv(line: string): string[] {
  if (line.length > MAX_LINE - 1) throw new CommandLineError('string too long');
  const words: string[] = [];
  let word: string | undefined;
  let state: 'start' | 'single' | 'double' | 'unquoted' = 'start';
  for (let i = 0; ; i++) {
    if (words.length >= MAX_ARGS + 1) throw new CommandLineError('Too many arguments.');
    const char = line[i];
    if (char === undefined || (char === '#' && (state === 'start' || state === 'unquoted'))) {
      if (state === 'single' || state === 'double') throw new CommandLineError('Unterminated quoted argument');
      if (state === 'unquoted') words.push(word!);
      return words;
    }
    if (/\s/.test(char)) {
      if (state === 'unquoted') {
        words.push(word!);
        word = undefined;
        state = 'start';
      } else if (state !== 'start') {
        word += char;
      }
    } else if (char === '"' || char === "'") {
      const quote = char === '"' ? 'double' : 'single';
      if (state === 'start') {
        word = '';
        state = quote;
      } else if (state === 'unquoted') {
        state = quote;
      } else if (state === quote) {
        state = 'unquoted';
      } else {
        word += char;
      }
    } else if (char === '\\') {
      const next = line[i + 1];
      if (state === 'single' || state === 'double') {
        const quote = state === 'single' ? "'" : '"';
        if (next === quote) {
          word += next;
          i++;
        } else if (next === '?' || next === '[' || next === '*') {
          // Doubly escaped: glob removes one level.
          word += `\\\\\\${next}`;
          i++;
        } else {
          word += `\\${next ?? ''}`;
          i++;
        }
      } else {
        if (state === 'start') {
          word = '';
          state = 'unquoted';
        }
        if (next === '?' || next === '[' || next === '*' || next === '\\') word += `\\${next}`;
        else word += next ?? '';
        i++;
      }
    } else {
      if (state === 'start') {
        word = '';
        state = 'unquoted';
      }
      // A wildcard inside quotes is literal: escape it for glob.
      if ((state === 'single' || state === 'double') && (char === '?' || char === '[' || char === '*')) word += `\\${char}`;
      else word += char;
    }
  }
}

/** sftp.c undo_glob_escape: for arguments that are not globbed. */
export function undoGlobEscape(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      out += text[i];
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) return `${out}\\`;
    if (next === '?' || next === '[' || next === '*' || next === '\\') out += next;
    else out += `\\${next}`;
    i++;
  }
  return out;
}

export class CommandLineError extends Error {
  override readonly name = 'CommandLineError';
}

/** getopt over a command's words; an unknown flag is "CMD: Invalid flag -X". Returns the index of the first operand. */
function commandFlags(word: string, argv: string[], letters: string, into: Set<string>, messageName = word): number {
  let index = 1;
  for (; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') return index + 1;
    if (!arg.startsWith('-') || arg === '-') break;
    for (const letter of arg.slice(1)) {
      if (!letters.includes(letter)) throw new CommandLineError(`${messageName}: Invalid flag -${letter}`);
      into.add(letter);
    }
  }
  return index;
}

function lsFlags(argv: string[]): { flags: number; index: number } {
  let flags: number = LS.nameSort;
  let index = 1;
  for (; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') return { flags, index: index + 1 };
    if (!arg.startsWith('-') || arg === '-') break;
    for (const letter of arg.slice(1)) {
      switch (letter) {
        case '1': flags = (flags & ~VIEW_FLAGS) | LS.short; break;
        case 'S': flags = (flags & ~SORT_FLAGS) | LS.sizeSort; break;
        case 'a': flags |= LS.all; break;
        case 'f': flags &= ~SORT_FLAGS; break;
        case 'h': flags |= LS.siUnits; break;
        case 'l': flags = (flags & ~LS.short) | LS.long; break;
        case 'n': flags = (flags & ~LS.short) | LS.numeric | LS.long; break;
        case 'r': flags |= LS.reverse; break;
        case 't': flags = (flags & ~SORT_FLAGS) | LS.timeSort; break;
        default: throw new CommandLineError(`ls: Invalid flag -${letter}`);
      }
    }
  }
  return { flags, index };
}

/** sftp.c parse_args. */
export function parseCommandLine(input: string): ParsedLine {
  let text = input.replace(/^[ \t\r\n]+/, '');
  const result: ParsedLine = { ignoreErrors: false, disableEcho: false };
  while (text[0] === '-' || text[0] === '@') {
    if (text[0] === '-') result.ignoreErrors = true;
    else result.disableEcho = true;
    text = text.slice(1);
  }
  text = text.replace(/^[ \t\r\n]+/, '');
  if (text === '' || text.startsWith('#')) return result;
  try {
    result.command = parseCommand(text);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    result.error = error.message;
  }
  return result;
}

function parseCommand(text: string): ParsedCommand {
  if (text.startsWith('!')) {
    return { command: 'shell', word: '!', flags: new Set(), lsFlags: 0, rest: text.slice(1) };
  }
  const argv = makeArgv(text);
  const word = argv[0] ?? '';
  const command = COMMANDS[word.toLowerCase()];
  if (command === undefined) throw new CommandLineError('Invalid command.');
  const parsed: ParsedCommand = { command, word: Object.keys(COMMANDS).find((name) => name === word.toLowerCase())!, flags: new Set(), lsFlags: 0, rest: '' };
  const name = parsed.word;
  const operands = (index: number) => argv.slice(index);
  switch (command) {
    case 'get': case 'reget': case 'put': case 'reput': {
      const rest = operands(commandFlags(name, argv, 'afPpRr', parsed.flags));
      if (rest.length < 1) throw new CommandLineError(`You must specify at least one path after a ${name} command.`);
      parsed.path1 = rest[0];
      // The destination is not globbed.
      if (rest.length > 1) parsed.path2 = undoGlobEscape(rest[1]!);
      break;
    }
    case 'link': case 'copy': case 'rename': case 'symlink': {
      const letters = command === 'link' ? 's' : command === 'rename' ? 'l' : '';
      const rest = operands(commandFlags(name, argv, letters, parsed.flags));
      if (rest.length < 2) throw new CommandLineError(`You must specify two paths after a ${name} command.`);
      parsed.path1 = undoGlobEscape(rest[0]!);
      parsed.path2 = undoGlobEscape(rest[1]!);
      break;
    }
    case 'rm': case 'mkdir': case 'rmdir': case 'lmkdir': case 'cd': case 'lcd': {
      const rest = operands(commandFlags(name, argv, '', parsed.flags));
      if (rest.length < 1) {
        if (command === 'cd' || command === 'lcd') break;
        throw new CommandLineError(`You must specify a path after a ${name} command.`);
      }
      // Only rm globs.
      parsed.path1 = command === 'rm' ? rest[0] : undoGlobEscape(rest[0]!);
      break;
    }
    case 'df': {
      const rest = operands(commandFlags(name, argv, 'hi', parsed.flags));
      if (rest.length > 0) parsed.path1 = undoGlobEscape(rest[0]!);
      break;
    }
    case 'ls': {
      const { flags, index } = lsFlags(argv);
      parsed.lsFlags = flags;
      if (argv.length > index) parsed.path1 = argv[index];
      break;
    }
    case 'lls':
      // The rest of the line goes to ls(1) as typed.
      parsed.rest = text.slice(word.length).replace(/^[ \t\r\n]+/, '');
      break;
    case 'lumask': case 'chmod': case 'chown': case 'chgrp': {
      const rest = operands(commandFlags(name, argv, 'h', parsed.flags));
      const base = command === 'chmod' || command === 'lumask' ? 8 : 10;
      const digits = base === 8 ? /^[+]?[0-7]+$/ : /^[+]?\d+$/;
      const value = rest[0] !== undefined && digits.test(rest[0]) ? parseInt(rest[0].replace('+', ''), base) : NaN;
      if (!(value >= 0 && value <= 0xffffffff)) throw new CommandLineError(`You must supply a numeric argument to the ${name} command.`);
      parsed.number = value;
      if (command === 'lumask') break;
      if (rest.length < 2) throw new CommandLineError(`You must specify a path after a ${name} command.`);
      parsed.path1 = rest[1];
      break;
    }
    default:
      commandFlags(name, argv, '', parsed.flags);
  }
  return parsed;
}
