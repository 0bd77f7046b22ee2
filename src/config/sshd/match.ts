// Evaluating one "Match" line (servconf.c match_cfg_line). Every criterion on the line must hold; "All"
// stands alone. While the file is first read there is no connection and only the syntax is checked; for a
// connection each criterion is compared with what is known about it.
import { readFileSync } from 'node:fs';
import { SshdConfigError } from './errors.ts';
import { addrMatchList, matchHostname, matchPatternList } from '../../match/addresses.ts';
import { nextDelimitedToken, type TokenCursor } from '../syntax.ts';
import { parsePort } from '../values.ts';

/** What sshd knows about a connection when it applies Match blocks (its struct connection_info). */
export interface ConnectionInfo {
  user: string | null;
  host: string | null;
  address: string | null;
  localAddress: string | null;
  /** 0 when unknown. */
  localPort: number;
  rdomain: string | null;
  /** The user's groups; looked up in /etc/passwd and /etc/group when not given. */
  groups?: string[] | undefined;
  /**
   * Test mode (sshd -T -C): a criterion whose attribute was not given does not match instead of being an
   * error (except LocalPort, which sshd still requires).
   */
  test: boolean;
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** The groups of a local user (primary group first), or null when the user does not exist. */
export function lookupUserGroups(user: string): string[] | null {
  const pw = readLines('/etc/passwd')
    .map((l) => l.split(':'))
    .find((f) => f[0] === user);
  if (!pw) return null;
  const gid = pw[3];
  const groups: string[] = [];
  for (const f of readLines('/etc/group').map((l) => l.split(':'))) {
    if (f.length < 4 || f[0] === undefined) continue;
    const members = (f[3] ?? '').split(',');
    if (f[2] === gid || members.includes(user)) {
      if (!groups.includes(f[0])) groups.push(f[0]);
    }
  }
  return groups;
}

/** ga_match_pattern_list: any group matches, unless a negated pattern matches one of them. */
function groupsMatch(groups: string[], patterns: string): boolean {
  let found = false;
  for (const g of groups) {
    const r = matchPatternList(g, patterns);
    if (r === -1) return false;
    if (r === 1) found = true;
  }
  return found;
}

function missingInTest(criterion: string, attribute: string): SshdConfigError {
  return new SshdConfigError('', 0, [
    `'Match ${criterion}' in configuration but '${attribute}' not in connection test specification.`,
  ]);
}

/**
 * Whether the criteria after "Match" hold for `conn` (always false for a syntax-only check, except "All").
 * Throws SshdConfigError with sshd's messages for a malformed line.
 */
export function evaluateMatchLine(criteria: string, file: string, line: number, conn: ConnectionInfo | null): boolean {
  const bad = (why: string): SshdConfigError =>
    new SshdConfigError(file, line, [why, `${file} line ${line}: Bad Match condition`]);
  const cursor: TokenCursor = { rest: criteria };
  let result = true;
  let attributes = 0;
  const next = (): string | null => nextDelimitedToken(cursor) ?? null;
  for (let attrib = next(); attrib !== null && attrib !== ''; attrib = next()) {
    if (attrib.startsWith('#')) break;
    attributes++;
    if (attrib.toLowerCase() === 'all') {
      const extra = next();
      if (attributes > 1 || (extra !== null && extra !== '' && !extra.startsWith('#'))) {
        throw bad("'all' cannot be combined with other Match attributes");
      }
      return true;
    }
    const arg = next();
    if (arg === null || arg === '' || arg.startsWith('#')) throw bad(`Missing Match criteria for ${attrib}`);
    switch (attrib.toLowerCase()) {
      case 'user':
        if (conn === null || (conn.test && conn.user === null)) result = false;
        else if (matchPatternList(conn.user ?? '', arg) !== 1) result = false;
        break;
      case 'group': {
        if (conn === null || (conn.test && conn.user === null)) {
          result = false;
          break;
        }
        const groups = conn.groups ?? lookupUserGroups(conn.user ?? '');
        if (groups === null || !groupsMatch(groups, arg)) result = false;
        break;
      }
      case 'host':
        if (conn === null || (conn.test && conn.host === null)) result = false;
        else if (matchHostname(conn.host ?? '', arg) !== 1) result = false;
        break;
      case 'address':
      case 'localaddress': {
        const local = attrib.toLowerCase() === 'localaddress';
        const value = conn === null ? null : local ? conn.localAddress : conn.address;
        if (conn === null || (conn.test && value === null)) {
          if (addrMatchList(null, arg) !== 0) {
            throw new SshdConfigError(file, line, [
              `Invalid Match ${local ? 'localaddress' : 'address'} argument '${arg}' at line ${line}`,
            ]);
          }
          result = false;
          break;
        }
        const r = addrMatchList(value, arg);
        if (r === -2) throw new SshdConfigError(file, line, [`${file} line ${line}: Bad Match condition`]);
        if (r !== 1) result = false;
        break;
      }
      case 'localport': {
        const port = parsePort(arg);
        if (port === -1) throw bad(`Invalid LocalPort '${arg}' on Match line`);
        if (conn === null) {
          result = false;
          break;
        }
        if (conn.localPort === 0) throw missingInTest('LocalPort', 'lport');
        if (port !== conn.localPort) result = false;
        break;
      }
      case 'rdomain':
        if (conn === null || (conn.test && conn.rdomain === null)) result = false;
        else if (matchPatternList(conn.rdomain ?? '', arg) !== 1) result = false;
        break;
      default:
        throw bad(`Unsupported Match attribute ${attrib}`);
    }
  }
  if (attributes === 0) throw bad('One or more attributes required for Match');
  return result;
}
