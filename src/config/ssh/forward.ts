/**
 * Port-forwarding specifications (LocalForward, RemoteForward, DynamicForward and -L/-R/-D/-W):
 * `[bind:]port|path` `host:hostport|path`, with `[...]` quoting of IPv6 addresses and `\` escapes,
 * as OpenSSH's parse_forward() reads them.
 */
import { expandString } from './expand.ts';
import { parsePort } from '../values.ts';

/** OpenSSH's PORT_STREAMLOCAL: the endpoint is a Unix-domain socket path. */
export const PORT_STREAMLOCAL = -2;

export interface Forward {
  listenHost: string | undefined;
  /** TCP port, 0 for "allocate" (remote only), or PORT_STREAMLOCAL with listenPath. */
  listenPort: number;
  listenPath: string | undefined;
  /** `socks` for a dynamic (SOCKS) forward, as OpenSSH records it. */
  connectHost: string | undefined;
  connectPort: number;
  connectPath: string | undefined;
}

interface Field {
  text: string;
  isPath: boolean;
}

function splitFields(spec: string): Field[] | undefined {
  const fields: Field[] = [];
  let s = spec;
  while (fields.length < 4 && s !== '') {
    if (s.startsWith('[')) {
      const close = s.indexOf(']');
      if (close < 0) return undefined;
      const after = s[close + 1];
      if (after !== undefined && after !== ':') return undefined;
      const text = s.slice(1, close);
      fields.push({ text, isPath: text.includes('/') });
      s = after === undefined ? '' : s.slice(close + 2);
      continue;
    }
    let text = '';
    let isPath = false;
    let i = 0;
    let ended = false;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (c === '\\') {
        if (i + 1 >= s.length) return undefined;
        // An escaped character is taken literally and never marks the field as a path.
        text += s[++i]!;
        continue;
      }
      if (c === '/') isPath = true;
      if (c === ':') {
        ended = true;
        break;
      }
      text += c;
    }
    fields.push({ text, isPath });
    s = ended ? s.slice(i + 1) : '';
  }
  if (s !== '') return undefined; // trailing garbage beyond four fields
  return fields;
}

/**
 * Parses a forwarding specification. `dynamic` accepts `[bind:]port`; otherwise a target is required.
 * `remote` allows listen port 0. Returns undefined for a bad specification. `${VAR}` is expanded first
 * so a variable holding a path is seen as a path.
 */
export function parseForward(spec: string, dynamic: boolean, remote: boolean, env: NodeJS.ProcessEnv): Forward | undefined {
  let expanded: string;
  try {
    expanded = expandString(spec, { env });
  } catch {
    return undefined;
  }
  const fields = splitFields(expanded.replace(/^\s+/, ''));
  if (fields === undefined) return undefined;
  const f: Forward = {
    listenHost: undefined, listenPort: 0, listenPath: undefined,
    connectHost: undefined, connectPort: 0, connectPath: undefined,
  };
  const [a, b, c, d] = fields;
  switch (fields.length) {
    case 1:
      if (a!.isPath) {
        f.listenPath = a!.text;
        f.listenPort = PORT_STREAMLOCAL;
      } else f.listenPort = parsePort(a!.text);
      f.connectHost = 'socks';
      break;
    case 2:
      if (a!.isPath && b!.isPath) {
        f.listenPath = a!.text;
        f.listenPort = PORT_STREAMLOCAL;
        f.connectPath = b!.text;
        f.connectPort = PORT_STREAMLOCAL;
      } else if (b!.isPath) {
        f.listenPort = parsePort(a!.text);
        f.connectPath = b!.text;
        f.connectPort = PORT_STREAMLOCAL;
      } else {
        f.listenHost = a!.text;
        f.listenPort = parsePort(b!.text);
        f.connectHost = 'socks';
      }
      break;
    case 3:
      if (a!.isPath) {
        f.listenPath = a!.text;
        f.listenPort = PORT_STREAMLOCAL;
        f.connectHost = b!.text;
        f.connectPort = parsePort(c!.text);
      } else if (c!.isPath) {
        f.listenHost = a!.text;
        f.listenPort = parsePort(b!.text);
        f.connectPath = c!.text;
        f.connectPort = PORT_STREAMLOCAL;
      } else {
        f.listenPort = parsePort(a!.text);
        f.connectHost = b!.text;
        f.connectPort = parsePort(c!.text);
      }
      break;
    case 4:
      f.listenHost = a!.text;
      f.listenPort = parsePort(b!.text);
      f.connectHost = c!.text;
      f.connectPort = parsePort(d!.text);
      break;
    default:
      return undefined;
  }
  const n = fields.length;
  if (dynamic) {
    if (n !== 1 && n !== 2) return undefined;
  } else {
    if (n !== 3 && n !== 4 && f.connectPath === undefined && f.listenPath === undefined) return undefined;
    if (f.connectPort <= 0 && f.connectPath === undefined) return undefined;
  }
  if ((f.listenPort < 0 && f.listenPath === undefined) || (!remote && f.listenPort === 0)) return undefined;
  if ((f.connectHost?.length ?? 0) >= 1025 || (f.listenHost?.length ?? 0) >= 1025) return undefined;
  if ((f.connectPath?.length ?? 0) >= 108 || (f.listenPath?.length ?? 0) >= 108) return undefined;
  return f;
}

export function forwardsEqual(a: Forward, b: Forward): boolean {
  return a.listenHost === b.listenHost && a.listenPort === b.listenPort && a.listenPath === b.listenPath &&
    a.connectHost === b.connectHost && a.connectPort === b.connectPort && a.connectPath === b.connectPath;
}

/** Is this a SOCKS (dynamic) forward? OpenSSH marks those with connect host `socks`. */
export function isDynamicForward(f: Forward): boolean {
  return f.connectHost === 'socks';
}
