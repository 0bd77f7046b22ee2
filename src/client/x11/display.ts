/**
 * The X display named by $DISPLAY, and where to connect for it, as the X libraries (and ssh's
 * channels.c x11_connect_display) read it:
 *
 *   `:N[.S]`, `unix:N[.S]`   the local server's Unix socket /tmp/.X11-unix/XN
 *   `host:N[.S]`             TCP to host, port 6000 + N (`localhost:10.0` is what sshd gives remote sessions)
 *   `/path/to/socket[:N]`    a socket path, as macOS launchd (XQuartz) sets it; the file name itself may end in ":N"
 *
 * S is the screen number, which ssh sends in its x11-req (RFC 4254 §6.3.1).
 */

/** Where TCP displays listen: display N is port 6000 + N (X Window System Protocol, "Connection Setup"). */
export const X11_TCP_BASE_PORT = 6000;
const X11_UNIX_SOCKET_DIR = '/tmp/.X11-unix';

export type DisplayTarget =
  | {
      readonly kind: 'unix';
      /** Socket paths to try in order (the launchd form names two candidates). */
      readonly paths: readonly string[];
      readonly displayNumber: number;
      readonly screen: number;
    }
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      readonly displayNumber: number;
      readonly screen: number;
    };

/** $DISPLAY cannot be used; the message is OpenSSH's wording for the same problem. */
export class DisplayError extends Error {
  override readonly name = 'DisplayError';
}

/**
 * ssh refuses displays with characters outside [A-Za-z0-9:/._-] (clientloop.c client_x11_display_valid): the
 * name is handed to xauth, and nothing in a real display name needs more.
 */
export function isValidDisplay(display: string): boolean {
  return display.length > 0 && /^[A-Za-z0-9:/._-]+$/.test(display);
}

/** The screen after the display number: the first '.' after the first ':' (0 when absent). */
export function screenNumber(display: string): number {
  const colon = display.indexOf(':');
  if (colon < 0) return 0;
  const dot = display.indexOf('.', colon);
  if (dot < 0) return 0;
  const screen = Number(display.slice(dot + 1));
  // ssh accepts 0..400 and uses 0 for anything else (strtonum's failure value).
  return Number.isInteger(screen) && screen >= 0 && screen <= 400 ? screen : 0;
}

/** The leading decimal digits of `text`, like sscanf("%u"); undefined when there are none. */
function leadingNumber(text: string): number | undefined {
  const digits = /^\d+/.exec(text)?.[0];
  return digits === undefined ? undefined : Number(digits);
}

/** Decodes $DISPLAY into the connection to make. Throws DisplayError for a value ssh could not use. */
export function parseDisplay(display: string): DisplayTarget {
  const screen = screenNumber(display);
  if (display.startsWith('/')) {
    // launchd: the whole value may be the socket's path, or the path followed by ":N".
    const colon = display.lastIndexOf(':');
    const displayNumber = colon > 0 ? (leadingNumber(display.slice(colon + 1)) ?? 0) : 0;
    const paths = colon > 0 ? [display, display.slice(0, colon)] : [display];
    return { kind: 'unix', paths, displayNumber, screen };
  }
  if (display.startsWith(':') || display.startsWith('unix:')) {
    const displayNumber = leadingNumber(display.slice(display.lastIndexOf(':') + 1));
    if (displayNumber === undefined) throw new DisplayError(`Could not parse display number from DISPLAY: ${display.slice(0, 100)}`);
    return { kind: 'unix', paths: [`${X11_UNIX_SOCKET_DIR}/X${displayNumber}`], displayNumber, screen };
  }
  const colon = display.indexOf(':');
  if (colon < 0) throw new DisplayError(`Could not find ':' in DISPLAY: ${display.slice(0, 100)}`);
  const displayNumber = leadingNumber(display.slice(colon + 1));
  if (displayNumber === undefined || displayNumber > 0xffff - X11_TCP_BASE_PORT) {
    throw new DisplayError(`Could not parse display number from DISPLAY: ${display.slice(0, 100)}`);
  }
  return { kind: 'tcp', host: display.slice(0, colon), port: X11_TCP_BASE_PORT + displayNumber, displayNumber, screen };
}

/**
 * The display name to look up in the authority file. A "localhost:N" display has its cookie filed under the
 * local (unix) family, so ssh asks xauth for "unix:N" instead (clientloop.c, the FamilyLocal case).
 */
export function xauthDisplayName(display: string): string {
  return display.startsWith('localhost:') ? `unix:${display.slice('localhost:'.length)}` : display;
}
