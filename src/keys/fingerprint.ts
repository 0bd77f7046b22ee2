/**
 * Key fingerprints as ssh-keygen -l prints them: "SHA256:" + unpadded base64 of the digest of the public
 * key blob (OpenSSH ≥ 6.8), "SHA1:" likewise, or the legacy "MD5:" + colon-separated hex (RFC 4716 §4).
 */
import { createHash } from 'node:crypto';
import type { KeyType, PublicKey } from './types.ts';

export type FingerprintHash = 'sha256' | 'sha1' | 'md5';

export function isFingerprintHash(name: string): name is FingerprintHash {
  return name === 'sha256' || name === 'sha1' || name === 'md5';
}

export function fingerprintDigest(blob: Buffer, hash: FingerprintHash): Buffer {
  return createHash(hash).update(blob).digest();
}

export function fingerprint(blob: Buffer, hash: FingerprintHash = 'sha256'): string {
  const digest = fingerprintDigest(blob, hash);
  if (hash === 'md5') return 'MD5:' + [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
  return `${hash.toUpperCase()}:${digest.toString('base64').replace(/=+$/, '')}`;
}

/** The short type name ssh-keygen prints: ED25519, ECDSA, RSA, DSA (sshkey_type()). */
export function keyTypeLabel(type: KeyType): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type === 'ssh-rsa') return 'RSA';
  if (type === 'ssh-dss') return 'DSA';
  return 'ECDSA';
}

// The "drunken bishop" picture of ssh-keygen -lv / VisualHostKey: a bishop starts in the centre of a
// 17×9 board and, for each pair of digest bits (low bits first), moves one step diagonally, sliding along
// walls; squares count the visits and are drawn from a fixed symbol ramp.
const BOARD_WIDTH = 17;
const BOARD_HEIGHT = 9;
const SYMBOLS = ' .o+=*BOX@%&#/^SE';
const START_SYMBOL = SYMBOLS.length - 2;
const END_SYMBOL = SYMBOLS.length - 1;
/** Visit counts saturate below the start and end markers. */
const MAX_VISITS = SYMBOLS.length - 3;

/** A border line with `label` centred the way OpenSSH centres it (extra dash on the right). */
function border(label: string): string {
  const left = Math.floor((BOARD_WIDTH - label.length) / 2);
  return '+' + '-'.repeat(left) + label + '-'.repeat(BOARD_WIDTH - left - label.length) + '+';
}

export function randomArt(key: PublicKey, hash: FingerprintHash = 'sha256'): string {
  const board: number[][] = Array.from({ length: BOARD_WIDTH }, () => new Array<number>(BOARD_HEIGHT).fill(0));
  const startX = Math.floor(BOARD_WIDTH / 2);
  const startY = Math.floor(BOARD_HEIGHT / 2);
  let x = startX;
  let y = startY;
  for (const byte of fingerprintDigest(key.blob, hash)) {
    for (let step = 0, bits = byte; step < 4; step++, bits >>= 2) {
      x = Math.min(Math.max(x + (bits & 1 ? 1 : -1), 0), BOARD_WIDTH - 1);
      y = Math.min(Math.max(y + (bits & 2 ? 1 : -1), 0), BOARD_HEIGHT - 1);
      if (board[x]![y]! < MAX_VISITS) board[x]![y]!++;
    }
  }
  board[startX]![startY] = START_SYMBOL;
  board[x]![y] = END_SYMBOL;

  // The title is cut to fit the 17-column border, as OpenSSH's fixed-size snprintf would.
  let title = `[${keyTypeLabel(key.type)} ${key.bits}]`;
  if (title.length > BOARD_WIDTH) title = `[${keyTypeLabel(key.type)}]`;
  const lines = [border(title)];
  for (let row = 0; row < BOARD_HEIGHT; row++) {
    let line = '|';
    for (let column = 0; column < BOARD_WIDTH; column++) line += SYMBOLS[board[column]![row]!];
    lines.push(line + '|');
  }
  lines.push(border(`[${hash.toUpperCase()}]`));
  return lines.join('\n');
}
