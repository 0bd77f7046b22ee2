/**
 * Applying a pty-req's terminal modes (RFC 4254 §8) to the new pseudo-terminal. node-pty cannot set termios
 * itself, so the modes become stty(1) arguments run on the terminal before the user's program starts.
 */
import { decodeTerminalModes, TTY_OP } from '../connection/session-requests.ts';

/** Control-character opcodes and their stty names. */
const CHARACTERS: ReadonlyMap<number, string> = new Map([
  [TTY_OP.VINTR, 'intr'],
  [TTY_OP.VQUIT, 'quit'],
  [TTY_OP.VERASE, 'erase'],
  [TTY_OP.VKILL, 'kill'],
  [TTY_OP.VEOF, 'eof'],
  [TTY_OP.VEOL, 'eol'],
  [TTY_OP.VEOL2, 'eol2'],
  [TTY_OP.VSTART, 'start'],
  [TTY_OP.VSTOP, 'stop'],
  [TTY_OP.VSUSP, 'susp'],
  [TTY_OP.VREPRINT, 'rprnt'],
  [TTY_OP.VWERASE, 'werase'],
  [TTY_OP.VLNEXT, 'lnext'],
  [16, 'discard'], // VDISCARD
]);

/** Flag opcodes and their stty names (RFC 4254 §8 numbering). */
const FLAGS: ReadonlyMap<number, string> = new Map([
  [TTY_OP.IGNPAR, 'ignpar'],
  [31, 'parmrk'],
  [32, 'inpck'],
  [33, 'istrip'],
  [34, 'inlcr'],
  [35, 'igncr'],
  [TTY_OP.ICRNL, 'icrnl'],
  [37, 'iuclc'],
  [TTY_OP.IXON, 'ixon'],
  [TTY_OP.IXANY, 'ixany'],
  [TTY_OP.IXOFF, 'ixoff'],
  [TTY_OP.IMAXBEL, 'imaxbel'],
  [TTY_OP.IUTF8, 'iutf8'],
  [TTY_OP.ISIG, 'isig'],
  [TTY_OP.ICANON, 'icanon'],
  [52, 'xcase'],
  [TTY_OP.ECHO, 'echo'],
  [TTY_OP.ECHOE, 'echoe'],
  [TTY_OP.ECHOK, 'echok'],
  [TTY_OP.ECHONL, 'echonl'],
  [TTY_OP.NOFLSH, 'noflsh'],
  [58, 'tostop'],
  [TTY_OP.IEXTEN, 'iexten'],
  [TTY_OP.ECHOCTL, 'echoctl'],
  [TTY_OP.ECHOKE, 'echoke'],
  [TTY_OP.OPOST, 'opost'],
  [71, 'olcuc'],
  [TTY_OP.ONLCR, 'onlcr'],
  [73, 'ocrnl'],
  [74, 'onocr'],
  [75, 'onlret'],
  [TTY_OP.PARENB, 'parenb'],
  [93, 'parodd'],
]);

/** OpenSSH encodes a disabled control character (_POSIX_VDISABLE) as 255. */
const DISABLED_CHARACTER = 255;

/**
 * stty arguments for encoded modes. Every argument is a plain word (names, "-name", "undef", "0xNN"),
 * safe to pass through a shell's word splitting with globbing off. Unknown opcodes are ignored.
 */
export function sttyArguments(encodedModes: Buffer): string[] {
  const args: string[] = [];
  for (const [opcode, value] of decodeTerminalModes(encodedModes)) {
    const character = CHARACTERS.get(opcode);
    if (character !== undefined) {
      if (value === DISABLED_CHARACTER || value === 0) args.push(character, 'undef');
      else if (value < 256) args.push(character, `0x${value.toString(16).padStart(2, '0')}`);
      continue;
    }
    const flag = FLAGS.get(opcode);
    if (flag !== undefined) {
      args.push(value ? flag : `-${flag}`);
      continue;
    }
    // Character size: only the one that is set matters.
    if (opcode === TTY_OP.CS8 && value) args.push('cs8');
    if (opcode === TTY_OP.CS7 && value) args.push('cs7');
  }
  return args;
}
