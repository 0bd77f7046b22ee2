/**
 * OpenSSH's multiplexing protocol (PROTOCOL.mux), both directions: every message encoded and decoded once,
 * by name. A packet on the control socket is `uint32 length` then the payload, which starts with `uint32
 * type`; requests from the client carry a request id that the master's reply echoes (§1).
 */
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { DecodeError } from '../../wire/errors.ts';

/** PROTOCOL.mux §1: the only version there is. */
export const MUX_VERSION = 4;

/** PROTOCOL.mux §11, plus MUX_C_PROXY / MUX_S_PROXY from mux.c (§9). */
export const MUX_MSG = {
  HELLO: 0x00000001,
  C_NEW_SESSION: 0x10000002,
  C_ALIVE_CHECK: 0x10000004,
  C_TERMINATE: 0x10000005,
  C_OPEN_FWD: 0x10000006,
  C_CLOSE_FWD: 0x10000007,
  C_NEW_STDIO_FWD: 0x10000008,
  C_STOP_LISTENING: 0x10000009,
  C_PROXY: 0x1000000f,
  S_OK: 0x80000001,
  S_PERMISSION_DENIED: 0x80000002,
  S_FAILURE: 0x80000003,
  S_EXIT_MESSAGE: 0x80000004,
  S_ALIVE: 0x80000005,
  S_SESSION_OPENED: 0x80000006,
  S_REMOTE_PORT: 0x80000007,
  S_TTY_ALLOC_FAIL: 0x80000008,
  S_PROXY: 0x8000000f,
} as const;

/** Forwarding types of MUX_C_OPEN_FWD / MUX_C_CLOSE_FWD (§6). */
export const MUX_FWD = { LOCAL: 1, REMOTE: 2, DYNAMIC: 3 } as const;
export type MuxForwardKind = (typeof MUX_FWD)[keyof typeof MUX_FWD];

/** §6: a port of (unsigned) -2 means the host field is a Unix-domain socket path. */
export const MUX_PORT_STREAMLOCAL = 0xfffffffe;
/** §2: an escape char of 0xffffffff means none. */
export const MUX_NO_ESCAPE = 0xffffffff;

/** The largest packet either side accepts (mux.c CHANNEL_MUX_MAX_PACKET). */
export const MUX_MAX_PACKET = 256 * 1024;
/** mux.c MUX_MAX_ENV_VARS: environment strings past this are ignored. */
const MAX_ENV = 4096;

export interface MuxForward {
  kind: MuxForwardKind;
  /** "" for the default bind address; a path when listenPort is MUX_PORT_STREAMLOCAL. */
  listenHost: string;
  listenPort: number;
  connectHost: string;
  connectPort: number;
}

export interface MuxSessionRequest {
  tty: boolean;
  x11: boolean;
  agent: boolean;
  subsystem: boolean;
  /** The escape character's code, or undefined for none. */
  escapeChar: number | undefined;
  term: string;
  command: string;
  /** `NAME=value` strings. */
  env: string[];
}

export type MuxClientMessage =
  | { type: 'hello'; version: number }
  | { type: 'new-session'; requestId: number; session: MuxSessionRequest }
  | { type: 'alive-check'; requestId: number }
  | { type: 'terminate'; requestId: number }
  | { type: 'open-forward'; requestId: number; forward: MuxForward }
  | { type: 'close-forward'; requestId: number; forward: MuxForward }
  | { type: 'stdio-forward'; requestId: number; host: string; port: number }
  | { type: 'stop-listening'; requestId: number }
  | { type: 'proxy'; requestId: number }
  | { type: 'unknown'; code: number; requestId: number };

export type MuxServerMessage =
  | { type: 'hello'; version: number }
  | { type: 'ok'; requestId: number }
  | { type: 'permission-denied'; requestId: number; reason: string }
  | { type: 'failure'; requestId: number; reason: string }
  | { type: 'exit-message'; sessionId: number; exitValue: number }
  | { type: 'alive'; requestId: number; pid: number }
  | { type: 'session-opened'; requestId: number; sessionId: number }
  | { type: 'remote-port'; requestId: number; port: number }
  | { type: 'tty-alloc-fail'; sessionId: number }
  | { type: 'proxy'; requestId: number }
  | { type: 'unknown'; code: number };

/** A payload framed for the socket: `uint32 length` in front. */
function framed(payload: Writer): Buffer {
  const body = payload.finish();
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function putForward(w: Writer, f: MuxForward): Writer {
  return w.uint32(f.kind).string(f.listenHost).uint32(f.listenPort >>> 0).string(f.connectHost).uint32(f.connectPort >>> 0);
}

function readForward(r: Reader): MuxForward {
  const kind = r.uint32();
  const forward = { listenHost: r.text(4096), listenPort: r.uint32(), connectHost: r.text(4096), connectPort: r.uint32() };
  for (const port of [forward.listenPort, forward.connectPort]) {
    if (port !== MUX_PORT_STREAMLOCAL && port > 65535) throw new DecodeError(`mux forward port ${port} out of range`);
  }
  return { kind: kind as MuxForwardKind, ...forward };
}

/** A client message, framed (PROTOCOL.mux §1–§9). */
export function encodeClientMessage(m: Exclude<MuxClientMessage, { type: 'unknown' }>): Buffer {
  const w = new Writer(128);
  switch (m.type) {
    case 'hello':
      return framed(w.uint32(MUX_MSG.HELLO).uint32(m.version));
    case 'new-session': {
      const s = m.session;
      w.uint32(MUX_MSG.C_NEW_SESSION).uint32(m.requestId).string('')
        .uint32(s.tty ? 1 : 0).uint32(s.x11 ? 1 : 0).uint32(s.agent ? 1 : 0).uint32(s.subsystem ? 1 : 0)
        .uint32(s.escapeChar ?? MUX_NO_ESCAPE).string(s.term).string(s.command);
      for (const variable of s.env) w.string(variable);
      return framed(w);
    }
    case 'alive-check':
      return framed(w.uint32(MUX_MSG.C_ALIVE_CHECK).uint32(m.requestId));
    case 'terminate':
      return framed(w.uint32(MUX_MSG.C_TERMINATE).uint32(m.requestId));
    case 'open-forward':
      return framed(putForward(w.uint32(MUX_MSG.C_OPEN_FWD).uint32(m.requestId), m.forward));
    case 'close-forward':
      return framed(putForward(w.uint32(MUX_MSG.C_CLOSE_FWD).uint32(m.requestId), m.forward));
    case 'stdio-forward':
      // §3 says "string connect port", but every OpenSSH since 5.4 sends a uint32 (mux.c).
      return framed(w.uint32(MUX_MSG.C_NEW_STDIO_FWD).uint32(m.requestId).string('').string(m.host).uint32(m.port));
    case 'stop-listening':
      return framed(w.uint32(MUX_MSG.C_STOP_LISTENING).uint32(m.requestId));
    case 'proxy':
      return framed(w.uint32(MUX_MSG.C_PROXY).uint32(m.requestId));
  }
}

/** Decodes one client payload (without its length). Throws DecodeError on malformed input. */
export function decodeClientMessage(payload: Buffer): MuxClientMessage {
  const r = new Reader(payload);
  const code = r.uint32();
  if (code === MUX_MSG.HELLO) {
    const version = r.uint32();
    // Extensions (name/value pairs) are skipped: none are defined (§1).
    while (r.remaining > 0) {
      r.string(4096);
      r.string(MUX_MAX_PACKET);
    }
    return { type: 'hello', version };
  }
  const requestId = r.uint32();
  switch (code) {
    case MUX_MSG.C_NEW_SESSION: {
      r.string(MUX_MAX_PACKET); // reserved
      const tty = r.uint32() !== 0;
      const x11 = r.uint32() !== 0;
      const agent = r.uint32() !== 0;
      const subsystem = r.uint32() !== 0;
      const escape = r.uint32();
      const term = r.text(4096);
      const command = r.text(MUX_MAX_PACKET);
      const env: string[] = [];
      while (r.remaining > 0 && env.length < MAX_ENV) env.push(r.text(MUX_MAX_PACKET));
      const escapeChar = escape === MUX_NO_ESCAPE ? undefined : escape;
      return { type: 'new-session', requestId, session: { tty, x11, agent, subsystem, escapeChar, term, command, env } };
    }
    case MUX_MSG.C_ALIVE_CHECK:
      return { type: 'alive-check', requestId };
    case MUX_MSG.C_TERMINATE:
      return { type: 'terminate', requestId };
    case MUX_MSG.C_OPEN_FWD:
      return { type: 'open-forward', requestId, forward: readForward(r) };
    case MUX_MSG.C_CLOSE_FWD:
      return { type: 'close-forward', requestId, forward: readForward(r) };
    case MUX_MSG.C_NEW_STDIO_FWD: {
      r.string(MUX_MAX_PACKET); // reserved
      return { type: 'stdio-forward', requestId, host: r.text(4096), port: r.uint32() };
    }
    case MUX_MSG.C_STOP_LISTENING:
      return { type: 'stop-listening', requestId };
    case MUX_MSG.C_PROXY:
      return { type: 'proxy', requestId };
    default:
      return { type: 'unknown', code, requestId };
  }
}

/** A master message, framed. */
export function encodeServerMessage(m: Exclude<MuxServerMessage, { type: 'unknown' }>): Buffer {
  const w = new Writer(64);
  switch (m.type) {
    case 'hello':
      return framed(w.uint32(MUX_MSG.HELLO).uint32(m.version));
    case 'ok':
      return framed(w.uint32(MUX_MSG.S_OK).uint32(m.requestId));
    case 'permission-denied':
      return framed(w.uint32(MUX_MSG.S_PERMISSION_DENIED).uint32(m.requestId).string(m.reason));
    case 'failure':
      return framed(w.uint32(MUX_MSG.S_FAILURE).uint32(m.requestId).string(m.reason));
    case 'exit-message':
      return framed(w.uint32(MUX_MSG.S_EXIT_MESSAGE).uint32(m.sessionId).uint32(m.exitValue >>> 0));
    case 'alive':
      return framed(w.uint32(MUX_MSG.S_ALIVE).uint32(m.requestId).uint32(m.pid));
    case 'session-opened':
      return framed(w.uint32(MUX_MSG.S_SESSION_OPENED).uint32(m.requestId).uint32(m.sessionId));
    case 'remote-port':
      return framed(w.uint32(MUX_MSG.S_REMOTE_PORT).uint32(m.requestId).uint32(m.port));
    case 'tty-alloc-fail':
      return framed(w.uint32(MUX_MSG.S_TTY_ALLOC_FAIL).uint32(m.sessionId));
    case 'proxy':
      return framed(w.uint32(MUX_MSG.S_PROXY).uint32(m.requestId));
  }
}

/** Decodes one master payload (without its length). Throws DecodeError on malformed input. */
export function decodeServerMessage(payload: Buffer): MuxServerMessage {
  const r = new Reader(payload);
  const code = r.uint32();
  switch (code) {
    case MUX_MSG.HELLO: {
      const version = r.uint32();
      while (r.remaining > 0) {
        r.string(4096);
        r.string(MUX_MAX_PACKET);
      }
      return { type: 'hello', version };
    }
    case MUX_MSG.S_OK:
      return { type: 'ok', requestId: r.uint32() };
    case MUX_MSG.S_PERMISSION_DENIED:
      return { type: 'permission-denied', requestId: r.uint32(), reason: r.text(4096) };
    case MUX_MSG.S_FAILURE:
      return { type: 'failure', requestId: r.uint32(), reason: r.text(4096) };
    case MUX_MSG.S_EXIT_MESSAGE:
      return { type: 'exit-message', sessionId: r.uint32(), exitValue: r.uint32() };
    case MUX_MSG.S_ALIVE:
      return { type: 'alive', requestId: r.uint32(), pid: r.uint32() };
    case MUX_MSG.S_SESSION_OPENED:
      return { type: 'session-opened', requestId: r.uint32(), sessionId: r.uint32() };
    case MUX_MSG.S_REMOTE_PORT:
      return { type: 'remote-port', requestId: r.uint32(), port: r.uint32() };
    case MUX_MSG.S_TTY_ALLOC_FAIL:
      return { type: 'tty-alloc-fail', sessionId: r.uint32() };
    case MUX_MSG.S_PROXY:
      return { type: 'proxy', requestId: r.uint32() };
    default:
      return { type: 'unknown', code };
  }
}
