/**
 * Remote file names as sftp and scp read them (misc.c colon, parse_user_host_path, parse_uri):
 * `[user@]host:[path]` (a `/` before the first `:` makes it local; IPv6 hosts in brackets), and
 * `sftp://` / `scp://` URIs `[user[;params]@]host[:port][/path]` with %-escapes.
 */

export interface RemoteSpec {
  user?: string;
  host: string;
  port?: number;
  /** The path as given: "." for `host:`; undefined for a URI without one. */
  path?: string;
}

/** misc.c colon(): the index of the `:` that ends a host part, or -1 when `text` is a local name. */
export function hostColon(text: string): number {
  if (text.startsWith(':')) return -1;
  let bracketed = text.startsWith('[');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '@' && text[i + 1] === '[') bracketed = true;
    if (text[i] === ']' && text[i + 1] === ':' && bracketed) return i + 1;
    if (text[i] === ':' && !bracketed) return i;
    if (text[i] === '/') return -1;
  }
  return -1;
}

/** misc.c cleanhostname: [v6] loses its brackets. */
function cleanHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** parse_user_host_path, or undefined when `text` has no host part. */
export function parseUserHostPath(text: string): RemoteSpec | undefined {
  const colon = hostColon(text);
  if (colon < 0) return undefined;
  const path = text.slice(colon + 1) || '.';
  const before = text.slice(0, colon);
  const at = before.lastIndexOf('@');
  if (at < 0) return { host: cleanHost(before), path };
  const user = before.slice(0, at);
  return { ...(user ? { user } : {}), host: cleanHost(before.slice(at + 1)), path };
}

function validPort(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * parse_uri: the parts of `scheme://...`; 'not-uri' when `text` does not start with the scheme, 'invalid'
 * when it does but cannot be read.
 */
export function parseUri(scheme: string, text: string): RemoteSpec | 'not-uri' | 'invalid' {
  if (!text.startsWith(`${scheme}://`)) return 'not-uri';
  let rest = text.slice(scheme.length + 3);
  let user: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    // Connection parameters after ';' are ignored, as OpenSSH ignores them.
    const info = rest.slice(0, at).split(';')[0]!;
    if (info === '') return 'invalid';
    try {
      user = decodeURIComponent(info);
    } catch {
      return 'invalid';
    }
    rest = rest.slice(at + 1);
  }
  let host: string;
  let after: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return 'invalid';
    host = rest.slice(1, close);
    after = rest.slice(close + 1);
  } else {
    const end = rest.search(/[:/]/);
    host = end < 0 ? rest : rest.slice(0, end);
    after = end < 0 ? '' : rest.slice(end);
  }
  if (host === '' || !/^[A-Za-z0-9._:%-]+$/.test(host)) return 'invalid';
  let port: number | undefined;
  if (after.startsWith(':')) {
    const slash = after.indexOf('/');
    port = validPort(slash < 0 ? after.slice(1) : after.slice(1, slash));
    if (port === undefined) return 'invalid';
    after = slash < 0 ? '' : after.slice(slash);
  }
  let path: string | undefined;
  if (after.startsWith('/') && after.length > 1) {
    try {
      path = decodeURIComponent(after.slice(1));
    } catch {
      return 'invalid';
    }
  }
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}), ...(path !== undefined ? { path } : {}) };
}
