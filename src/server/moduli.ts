/**
 * Diffie-Hellman group exchange (RFC 4419) on the server: groups come from the moduli file (moduli(5)), as
 * sshd's choose_dh() picks them, falling back to the RFC 3526 groups when the file is absent or has nothing
 * in the requested range. Unlike sshd, no group is smaller than 3072 bits: Debian's /etc/ssh/moduli has
 * 2048-bit ones, which a request for 2048 would get (ssh-audit warns: 112 bits of strength), so they are
 * skipped and such a request gets 3072 bits, or fails when its maximum is below that.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defaultGroupChooser } from '../transport/kex-flow.ts';

export interface DhGroup {
  prime: Buffer;
  generator: Buffer;
}

export interface ModuliEntry {
  /** Modulus size in bits (the file stores bits - 1). */
  bits: number;
  generator: number;
  /** Hexadecimal modulus as written. */
  modulusHex: string;
}

/** moduli(5): type 2 is a safe prime; test bit 0x01 marks a composite; trials 0 means untested. */
const MODULI_TYPE_SAFE = 2;
const MODULI_TESTS_COMPOSITE = 0x01;
/** sshd's DH_GRP_MAX; the minimum is raised from sshd's DH_GRP_MIN (2048) to 3072 (NIST SP 800-57: 128 bits). */
export const DH_GROUP_MIN_BITS = 3072;
export const DH_GROUP_MAX_BITS = 8192;

/** Parses a moduli file's text, keeping only the lines sshd would use. Malformed lines are skipped. */
export function parseModuli(text: string): ModuliEntry[] {
  const entries: ModuliEntry[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(/\s+/);
    if (fields.length !== 7) continue;
    const [, type, tests, trials, size, generator, modulus] = fields as [string, string, string, string, string, string, string];
    if (Number(type) !== MODULI_TYPE_SAFE) continue;
    const testBits = Number(tests);
    if (!Number.isInteger(testBits) || testBits & MODULI_TESTS_COMPOSITE || testBits === 0) continue;
    if (!(Number(trials) > 0)) continue;
    if (!/^[0-9a-fA-F]+$/.test(modulus) || !/^\d+$/.test(generator)) continue;
    const bits = Number(size) + 1;
    if (!Number.isInteger(bits) || bits < 1024) continue;
    entries.push({ bits, generator: Number(generator), modulusHex: modulus });
  }
  return entries;
}

function toGroup(entry: ModuliEntry): DhGroup {
  const hex = entry.modulusHex.length % 2 === 0 ? entry.modulusHex : `0${entry.modulusHex}`;
  return { prime: Buffer.from(hex, 'hex'), generator: Buffer.from([entry.generator]) };
}

/**
 * A group chooser for the transport's `chooseDhGroup`: the smallest size at least the client's preferred
 * one (or else the largest below it) within its range, a random group among those of that size.
 */
export function moduliGroupChooser(entries: readonly ModuliEntry[]): (min: number, preferred: number, max: number) => DhGroup {
  return (min, preferred, max) => {
    const low = Math.max(min, DH_GROUP_MIN_BITS);
    const high = Math.min(max, DH_GROUP_MAX_BITS);
    const wanted = Math.min(Math.max(preferred, low), high);
    let best = 0;
    for (const entry of entries) {
      if (entry.bits < low || entry.bits > high) continue;
      if ((entry.bits > wanted && (best === 0 || entry.bits < best)) || (entry.bits > best && best < wanted)) best = entry.bits;
    }
    const candidates = entries.filter((entry) => entry.bits === best);
    if (candidates.length === 0) return defaultGroupChooser(low, wanted, high);
    return toGroup(candidates[randomInt(candidates.length)]!);
  };
}

/** Reads `path` (ModuliFile); a missing or unreadable file means the RFC 3526 fallback groups. */
export function loadGroupChooser(path: string): (min: number, preferred: number, max: number) => DhGroup {
  let entries: ModuliEntry[] = [];
  try {
    entries = parseModuli(readFileSync(path, 'utf8'));
  } catch {
    entries = [];
  }
  return moduliGroupChooser(entries);
}
