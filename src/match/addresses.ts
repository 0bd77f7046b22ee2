// OpenSSH's pattern matching (match.c, addrmatch.c), as sshd applies it to Match criteria and to
// AllowUsers/DenyUsers/AllowGroups/DenyGroups: '*' and '?' wildcards, comma-separated lists where a
// leading '!' negates (any negated hit vetoes the whole list), and address lists that also accept CIDR.
import { isIPv4, isIPv6 } from 'node:net';

import { matchHostname, matchPattern, matchPatternList, type ListMatch } from './patterns.ts';

export { matchHostname, matchPattern, matchPatternList, type ListMatch };

/**
 * net.isIP(), without compiling Node's IPv6 pattern for text that cannot be IPv6 (no ':'): that first
 * compilation costs several milliseconds, paid by every `tether ssh host` that only names a host.
 */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (isIPv4(text)) return 4;
  return text.includes(':') && isIPv6(text) ? 6 : 0;
}

/** An address as bytes, so CIDR masks can be applied to IPv4 and IPv6 alike. */
interface ParsedAddress {
  family: 4 | 6;
  bytes: number[];
}

function parseIPv4(s: string): number[] | null {
  if (!isIPv4(s)) return null;
  return s.split('.').map(Number);
}

function parseIPv6(input: string): number[] | null {
  const s = input.replace(/%.*$/, ''); // a scope id does not take part in matching
  if (ipFamily(s) !== 6) return null;
  let head = s;
  let tail = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      const v4 = parseIPv4(g);
      if (v4) out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  const words = dbl >= 0 ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** addr_pton: a numeric IPv4 or IPv6 address, or null. */
export function parseAddress(s: string): ParsedAddress | null {
  const v4 = parseIPv4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(s);
  if (v6) return { family: 6, bytes: v6 };
  return null;
}

/**
 * addr_pton_cidr: "addr" or "addr/len". Returns 'invalid' when it is not an address (the caller then
 * tries a wildcard match) and 'inconsistent' when the mask is too long or host bits are set.
 */
function parseCidr(s: string): { net: ParsedAddress; bits: number } | 'invalid' | 'inconsistent' {
  if (s.length >= 64) return 'invalid';
  let addr = s;
  let bits: number | null = null;
  const slash = s.indexOf('/');
  if (slash >= 0) {
    addr = s.slice(0, slash);
    const m = s.slice(slash + 1);
    if (!/^[0-9]+$/.test(m)) return 'invalid';
    bits = Number(m);
    if (bits > 128) return 'invalid';
  }
  const net = parseAddress(addr);
  if (!net) return 'invalid';
  const maxBits = net.family === 4 ? 32 : 128;
  if (bits === null) bits = maxBits;
  if (bits > maxBits) return 'inconsistent';
  for (let bit = bits; bit < maxBits; bit++) {
    if ((net.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return 'inconsistent';
  }
  return { net, bits };
}

function inNetwork(addr: ParsedAddress, net: ParsedAddress, bits: number): boolean {
  if (addr.family !== net.family) return false;
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((addr.bytes[byte]! & mask) !== (net.bytes[byte]! & mask)) return false;
  }
  return true;
}

/**
 * addr_match_list: 1 when `addr` matches an entry (CIDR, or a wildcard pattern if the entry is not an
 * address), -1 when a negated entry matches, 0 otherwise, and -2 when the list itself is malformed (an empty
 * entry or a CIDR with host bits set). With `addr` null only the list's syntax is checked (0 or -2).
 */
export function addrMatchList(addr: string | null, list: string): 1 | 0 | -1 | -2 {
  let parsed: ParsedAddress | null = null;
  if (addr !== null) {
    parsed = parseAddress(addr);
    if (!parsed) return 0;
  }
  let result: 1 | 0 = 0;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const entry = negated ? raw.slice(1) : raw;
    if (entry === '') return -2;
    const cidr = parseCidr(entry);
    if (cidr === 'inconsistent') return -2;
    let hit = false;
    if (cidr !== 'invalid') hit = parsed !== null && inNetwork(parsed, cidr.net, cidr.bits);
    else hit = addr !== null && matchPattern(addr, entry);
    if (hit) {
      if (negated) return -1;
      result = 1;
    }
  }
  return result;
}

/**
 * match_host_and_ip: an entry list matched against both the client's host name and address; a negative
 * match on either vetoes. Returns -1 when the list is malformed.
 */
export function matchHostAndAddress(host: string | null, address: string | null, list: string): 1 | 0 | -1 {
  const ip = addrMatchList(address, list);
  if (ip === -2) return -1;
  if (host === null || address === null || ip === -1) return 0;
  const h = matchHostname(host, list);
  if (h === -1) return 0;
  if (h === 0 && ip === 0) return 0;
  return 1;
}

/**
 * match_user for AllowUsers/DenyUsers entries "user" or "user@host": 1 matched, 0 not, -1 malformed.
 * With no connection (all null) it only validates the entry, as sshd does while reading the file.
 */
export function matchUserEntry(
  user: string | null,
  host: string | null,
  address: string | null,
  entry: string,
): 1 | 0 | -1 {
  const at = entry.indexOf('@');
  if (user === null && host === null && address === null) {
    if (at >= 0 && matchHostAndAddress(null, null, entry.slice(at + 1)) < 0) return -1;
    return 0;
  }
  if (at < 0) return matchPattern(user ?? '', entry) ? 1 : 0;
  if (!matchPattern(user ?? '', entry.slice(0, at))) return 0;
  return matchHostAndAddress(host, address, entry.slice(at + 1));
}
