/**
 * POSIX getopt(3), as OpenSSH's tools use it: `optstring` lists option letters, a letter followed by `:`
 * takes a value. Flags may be clustered (`-qv`), a value may be attached (`-b4096`) or be the next
 * argument (`-b 4096`), and scanning stops at `--` (consumed) or at the first operand (kept, with all
 * that follows, in `operands`). A lone `-` is an operand.
 */

export type ParsedOption = [flag: string, value: string | undefined];

export interface GetoptResult {
  readonly options: ParsedOption[];
  readonly operands: string[];
}

/** An unknown option or a missing option value; `message` is worded like BSD getopt's diagnostics. */
export class GetoptError extends Error {
  override readonly name = 'GetoptError';
  readonly option: string;

  constructor(message: string, option: string) {
    super(message);
    this.option = option;
  }
}

function parseOptstring(optstring: string): Map<string, boolean> {
  const spec = new Map<string, boolean>();
  for (let i = 0; i < optstring.length; i++) {
    const letter = optstring[i]!;
    if (letter === ':') continue;
    spec.set(letter, optstring[i + 1] === ':');
  }
  return spec;
}

export function getopt(argv: readonly string[], optstring: string): GetoptResult {
  const spec = parseOptstring(optstring);
  const options: ParsedOption[] = [];
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index]!;
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    index++;
    for (let position = 1; position < arg.length; position++) {
      const letter = arg[position]!;
      const takesValue = spec.get(letter);
      if (takesValue === undefined || letter === '-') throw new GetoptError(`unknown option -- ${letter}`, letter);
      if (!takesValue) {
        options.push([letter, undefined]);
        continue;
      }
      if (position + 1 < arg.length) {
        options.push([letter, arg.slice(position + 1)]);
      } else if (index < argv.length) {
        options.push([letter, argv[index++]!]);
      } else {
        throw new GetoptError(`option requires an argument -- ${letter}`, letter);
      }
      break;
    }
  }
  return { options, operands: argv.slice(index) };
}
