/**
 * The real X authorization cookie, from xauth(1) as ssh gets it (clientloop.c client_x11_get_proto):
 *
 * - trusted (-Y, or ForwardX11Trusted yes): `xauth list DISPLAY`, the cookie the user's own clients use;
 * - untrusted (-X with ForwardX11Trusted no): `xauth -f TMPFILE generate DISPLAY MIT-MAGIC-COOKIE-1 untrusted
 *   [timeout T]`, a fresh cookie the X server's SECURITY extension marks untrusted, then `xauth -f TMPFILE list`.
 *
 * xauth runs without a shell (argument vector only), with the caller's environment so it sees $XAUTHORITY.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xauthDisplayName } from './display.ts';

/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');

/** The only protocol ssh generates and spoofs. */
export const MIT_MAGIC_COOKIE = 'MIT-MAGIC-COOKIE-1';

/**
 * Extra seconds the untrusted cookie outlives ForwardX11Timeout, so the X server never accepts a connection
 * ssh would already refuse (clientloop.c X11_TIMEOUT_SLACK).
 */
export const X11_TIMEOUT_SLACK_SECONDS = 60;

/** Bounds every xauth run; xauth generate talks to the X server, which might not answer. */
const XAUTH_TIME_LIMIT_MS = 10_000;

export interface XauthCookie {
  /** The authorization protocol name, e.g. MIT-MAGIC-COOKIE-1. */
  readonly protocol: string;
  /** The authorization data (the cookie itself), decoded from xauth's hex. */
  readonly data: Buffer;
}

export interface XauthRequest {
  /** XAuthLocation; a program that does not exist means "no xauth", as in ssh. */
  readonly xauthLocation: string;
  readonly display: string;
  readonly trusted: boolean;
  /** ForwardX11Timeout in seconds; 0 means the untrusted cookie never expires. */
  readonly timeoutSeconds: number;
  readonly debug?: (message: string) => void;
}

/** xauth's output was not a cookie we can spoof. */
export class XauthDataError extends Error {
  override readonly name = 'XauthDataError';
}

function runXauth(program: string, args: string[]): Promise<{ ok: boolean; stdout: string }> {
  return new Promise((resolve) => {
    childProcess().execFile(program, args, { timeout: XAUTH_TIME_LIMIT_MS, encoding: 'utf8' }, (error, stdout) => {
      resolve({ ok: error === null, stdout: stdout ?? '' });
    });
  });
}

/**
 * Reads the first line of `xauth list` ("displayname protocol hexdata"), as ssh's sscanf("%*s %s %s") does.
 * Undefined when there is no such line.
 */
export function parseXauthList(output: string): { protocol: string; hex: string } | undefined {
  const fields = (output.split('\n', 1)[0] ?? '').trim().split(/\s+/);
  if (fields.length < 3) return undefined;
  return { protocol: fields[1]!, hex: fields[2]! };
}

/** Hex authorization data as bytes; ssh treats anything else as fatal (x11_request_forwarding_with_spoofing). */
export function decodeCookieHex(hex: string): Buffer {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new XauthDataError('bad authentication data from xauth');
  }
  return Buffer.from(hex, 'hex');
}

/**
 * The cookie for `request.display`, or undefined when xauth is missing, has no entry, or (untrusted) could not
 * generate one. Throws XauthDataError when xauth printed something that is not hex data.
 */
export async function readXauthCookie(request: XauthRequest): Promise<XauthCookie | undefined> {
  if (!existsSync(request.xauthLocation)) {
    request.debug?.('No xauth program.');
    return undefined;
  }
  const display = xauthDisplayName(request.display);
  let authorityDir: string | undefined;
  try {
    let fileArgs: string[] = [];
    if (!request.trusted) {
      authorityDir = mkdtempSync(join(tmpdir(), 'ssh-'));
      const authorityFile = join(authorityDir, 'xauthfile');
      const timeout = request.timeoutSeconds === 0
        ? []
        : ['timeout', String(Math.min(request.timeoutSeconds + X11_TIMEOUT_SLACK_SECONDS, 0xffffffff))];
      const args = ['-f', authorityFile, 'generate', display, MIT_MAGIC_COOKIE, 'untrusted', ...timeout];
      // Untrusted mode only ever reads the cookie it generated, never the user's own.
      if (!(await runXauth(request.xauthLocation, args)).ok) return undefined;
      fileArgs = ['-f', authorityFile];
    }
    const listed = await runXauth(request.xauthLocation, [...fileArgs, 'list', display]);
    const entry = parseXauthList(listed.stdout);
    if (!entry) return undefined;
    return { protocol: entry.protocol, data: decodeCookieHex(entry.hex) };
  } finally {
    if (authorityDir) rmSync(authorityDir, { recursive: true, force: true });
  }
}
