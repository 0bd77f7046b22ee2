/**
 * PerSourceNetBlockSize (sshd_config(5)): clients are grouped by the network block their address falls in,
 * /32 and /128 (one address) unless configured wider. Both PerSourceMaxStartups and PerSourcePenalties count
 * per block, as srclimit.c does with srclimit_mask_addr; the block is named "addr/bits" in log lines
 * (srclimit.c addr_masklen_ntop).
 */
import { parseAddress } from '../match/addresses.ts';

export interface NetBlockSize {
  ipv4: number;
  ipv6: number;
}

export interface NetBlock {
  family: 4 | 6;
  /** The masked address and prefix length, "192.0.2.0/24": a key and the name sshd logs. */
  label: string;
}

/** The block `address` belongs to, or null when it is not a numeric address (sshd then applies no limit). */
export function netBlockOf(address: string, size: NetBlockSize): NetBlock | null {
  const parsed = parseAddress(address);
  if (!parsed) return null;
  const bits = parsed.family === 4 ? size.ipv4 : size.ipv6;
  const bytes = parsed.bytes.map((byte, index) => {
    const keep = Math.max(0, Math.min(8, bits - index * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
  return { family: parsed.family, label: `${formatAddress(parsed.family, bytes)}/${bits}` };
}

/** inet_ntop's text form: dotted quad, or RFC 5952 groups with the longest run of zero groups as "::". */
function formatAddress(family: 4 | 6, bytes: number[]): string {
  if (family === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not shortened (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
