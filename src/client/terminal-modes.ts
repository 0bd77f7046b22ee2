
/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');
/**
 * The local terminal's settings as a pty-req's terminal modes (RFC 4254 §8), as ssh sends them
 * (ttymodes.c ssh_tty_make_modes: tcgetattr of stdin, speeds first, then every control character and flag
 * of ttymodes.h). Node has no tcgetattr, so stty(1) reads the terminal and its `stty -a` report is parsed;
 * when stdin is not a terminal or stty fails, the caller falls back to conventional defaults.
 */

type Modes = Array<[opcode: number, value: number]>;

/** Control characters by stty's names (GNU and BSD spellings), with their opcodes. */
const CHARACTERS: ReadonlyArray<readonly [opcode: number, names: readonly string[]]> = [
  [1, ['intr']], [2, ['quit']], [3, ['erase']], [4, ['kill']], [5, ['eof']], [6, ['eol']], [7, ['eol2']],
  [8, ['start']], [9, ['stop']], [10, ['susp']], [11, ['dsusp']], [12, ['rprnt', 'reprint']], [13, ['werase']],
  // VSWTCH (16) is left out: glibc has no VSWTCH, so ssh on Linux never sends it although stty shows swtch.
  [14, ['lnext']], [15, ['flush']], [17, ['status']], [18, ['discard']],
];

/** Flags by stty's names, in ttymodes.h order. */
const FLAGS: ReadonlyArray<readonly [opcode: number, name: string]> = [
  [30, 'ignpar'], [31, 'parmrk'], [32, 'inpck'], [33, 'istrip'], [34, 'inlcr'], [35, 'igncr'], [36, 'icrnl'],
  [37, 'iuclc'], [38, 'ixon'], [39, 'ixany'], [40, 'ixoff'], [41, 'imaxbel'], [42, 'iutf8'],
  [50, 'isig'], [51, 'icanon'], [52, 'xcase'], [53, 'echo'], [54, 'echoe'], [55, 'echok'], [56, 'echonl'],
  [57, 'noflsh'], [58, 'tostop'], [59, 'iexten'], [60, 'echoctl'], [61, 'echoke'], [62, 'pendin'],
  [70, 'opost'], [71, 'olcuc'], [72, 'onlcr'], [73, 'ocrnl'], [74, 'onocr'], [75, 'onlret'],
];

const TTY_OP_ISPEED = 128;
const TTY_OP_OSPEED = 129;
const CS7 = 90;
const CS8 = 91;
const PARENB = 92;
const PARODD = 93;
/** A disabled control character (_POSIX_VDISABLE) goes on the wire as 255 (ttymodes.c special_char_encode). */
const DISABLED = 255;

/** stty's picture of a control character: `^C`, `^?`, `M-a`, `M-^C`, a plain character, or `<undef>`. */
function characterValue(text: string): number | undefined {
  if (text === '<undef>' || text === 'undef' || text === '') return DISABLED;
  let meta = 0;
  let rest = text;
  if (rest.startsWith('M-') && rest.length > 2) {
    meta = 0x80;
    rest = rest.slice(2);
  }
  if (rest === '^?') return meta | 0x7f;
  if (rest.length === 2 && rest[0] === '^') return meta | (rest.charCodeAt(1) & 0x1f);
  if (rest.length === 1) return meta | rest.charCodeAt(0);
  return undefined;
}

/**
 * Terminal modes from a `stty -a` report. Flags stty does not list are left out (the server keeps its
 * default for them); the character size becomes CS7/CS8 as ssh computes them from c_cflag on Linux, where
 * CS7's bit is part of CS8's (so cs8 sends both as 1).
 */
export function parseSttyReport(report: string): Modes {
  const modes: Modes = [];
  const speed = /\bspeed (\d+) baud/.exec(report);
  const ispeed = /\bispeed (\d+) baud/.exec(report)?.[1] ?? speed?.[1];
  const ospeed = /\bospeed (\d+) baud/.exec(report)?.[1] ?? speed?.[1];
  if (ospeed !== undefined) modes.push([TTY_OP_OSPEED, Number(ospeed)]);
  if (ispeed !== undefined) modes.push([TTY_OP_ISPEED, Number(ispeed)]);

  const characters = new Map<string, number>();
  for (const match of report.matchAll(/([a-z0-9]+) = ([^;\s]*)(?=;|\s|$)/g)) {
    const value = characterValue(match[2]!);
    if (value !== undefined) characters.set(match[1]!, value);
  }
  for (const [opcode, names] of CHARACTERS) {
    const name = names.find((candidate) => characters.has(candidate));
    if (name !== undefined) modes.push([opcode, characters.get(name)!]);
  }

  // Flag words are those outside "name = value;" pairs: `icrnl` on, `-icrnl` off.
  const words = new Map<string, boolean>();
  for (const word of report.replace(/[a-z0-9]+ = [^;]*;/g, ' ').split(/\s+/)) {
    const match = /^(-?)([a-z0-9]+)$/.exec(word);
    if (match) words.set(match[2]!, match[1] !== '-');
  }
  for (const [opcode, name] of FLAGS) {
    const on = words.get(name);
    if (on !== undefined) modes.push([opcode, on ? 1 : 0]);
  }
  const size = ['cs5', 'cs6', 'cs7', 'cs8'].findIndex((name) => words.get(name) === true);
  if (size >= 0) {
    modes.push([CS7, size >= 2 ? 1 : 0], [CS8, size >= 1 ? 1 : 0]);
  }
  for (const [opcode, name] of [[PARENB, 'parenb'], [PARODD, 'parodd']] as const) {
    const on = words.get(name);
    if (on !== undefined) modes.push([opcode, on ? 1 : 0]);
  }
  return modes;
}

/**
 * The modes of the terminal on `fd` (default stdin), or undefined when it is not a terminal or stty cannot
 * read it. stty runs with the terminal as its standard input, bounded to a few seconds.
 */
export function localTerminalModes(fd = 0, isTerminal: boolean = fd === 0 ? process.stdin.isTTY === true : true): Modes | undefined {
  if (!isTerminal) return undefined;
  const result = childProcess().spawnSync('stty', ['-a'], { stdio: [fd, 'pipe', 'ignore'], encoding: 'utf8', timeout: 3000 });
  if (result.status !== 0 || typeof result.stdout !== 'string') return undefined;
  const modes = parseSttyReport(result.stdout);
  return modes.length > 0 ? modes : undefined;
}
