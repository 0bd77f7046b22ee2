// Turning Port, ListenAddress and AddressFamily into the addresses sshd binds (servconf.c add_listen_addr),
// listed in the order `sshd -T` prints them: ListenAddress lines in order, and within one line the
// resolver's answers last-first (sshd pushes each answer list onto a stack).
import { execFileSync } from 'node:child_process';
import { ipFamily } from '../../match/addresses.ts';
import { SshdConfigError } from './errors.ts';
import type { EffectiveSshdSettings, ListenAddress, QueuedListenAddress } from './settings.ts';

type Family = EffectiveSshdSettings['addressFamily'];

/** getnameinfo(NI_NUMERICHOST) spelling of an IPv6 address: lower case, longest zero run compressed. */
export function canonicalIPv6(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return `::ffff:${mapped[1]}`;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** One getaddrinfo(host, SOCK_STREAM) answer list; the resolver is asked only for names, not literals. */
function resolve(host: string | null, family: Family): Array<{ address: string; family: 4 | 6 }> {
  if (host === null) {
    // AI_PASSIVE with no host: glibc answers 0.0.0.0 before ::.
    if (family === 'inet') return [{ address: '0.0.0.0', family: 4 }];
    if (family === 'inet6') return [{ address: '::', family: 6 }];
    return [{ address: '0.0.0.0', family: 4 }, { address: '::', family: 6 }];
  }
  const literal = ipFamily(host.replace(/%.*$/, ''));
  if (literal !== 0) {
    if ((literal === 4 && family === 'inet6') || (literal === 6 && family === 'inet')) {
      throw new SshdConfigError('', 0, [`bad addr or host: ${host} (Address family for hostname not supported)`]);
    }
    return [{ address: literal === 6 ? canonicalIPv6(host) : host, family: literal === 6 ? 6 : 4 }];
  }
  const database = family === 'inet' ? 'ahostsv4' : family === 'inet6' ? 'ahostsv6' : 'ahosts';
  let text = '';
  try {
    text = execFileSync('getent', [database, host], { encoding: 'utf8', timeout: 10_000 });
  } catch {
    throw new SshdConfigError('', 0, [`bad addr or host: ${host} (Name or service not known)`]);
  }
  const answers: Array<{ address: string; family: 4 | 6 }> = [];
  for (const row of text.split('\n')) {
    const [address, kind] = row.trim().split(/\s+/);
    if (kind !== 'STREAM' || address === undefined) continue;
    const fam = ipFamily(address);
    if (fam === 4 || fam === 6) answers.push({ address: fam === 6 ? canonicalIPv6(address) : address, family: fam });
  }
  return answers;
}

/**
 * The listen addresses for the queued ListenAddress lines (none: every address on every port). A line
 * without a port listens on each configured Port.
 */
export function resolveListenAddresses(
  queued: QueuedListenAddress[],
  ports: number[],
  family: Family,
): ListenAddress[] {
  const lines = queued.length > 0 ? queued : [{ host: null, port: 0, rdomain: null }];
  const out: ListenAddress[] = [];
  for (const q of lines) {
    for (const port of q.port > 0 ? [q.port] : ports) {
      const answers = resolve(q.host, family);
      for (const a of answers.reverse()) out.push({ address: a.address, port, family: a.family, rdomain: q.rdomain });
    }
  }
  return out;
}
