/**
 * The "create" and "attach" requests on the holder's socket, encoded by the server and checked field by
 * field by the holder (any process of the user may connect, and a bad request must only fail itself).
 */
import type { SessionProgram, TerminalRequest } from '../session-process.ts';
import type { AttachHeldSession, CreateHeldSession, HeldSessionFiles, HeldSessionSummary } from '../holder-api.ts';
import { field, HolderProtocolError, type ServerMessage } from './holder-protocol.ts';

/** Bounds on what one request may make the holder hold. */
export const MAX_NAME_BYTES = 64;
export const MAX_ARGUMENTS = 4096;
export const MAX_ENVIRONMENT = 4096;
export const MAX_LOG_SIZE = 64 * 1024 * 1024;
export const MIN_LOG_SIZE = 1024;
export const MAX_REASON_LENGTH = 256;

/** Names are what a user types after `attach`: printable, no white space, at most 64 bytes. */
export function validSessionName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= MAX_NAME_BYTES && !/[\s\p{Cc}]/u.test(name);
}

export function encodeCreate(request: CreateHeldSession): ServerMessage {
  const { runAs: _ignored, terminal, ...program } = request.program;
  return {
    op: 'create',
    ...(request.name ? { name: request.name } : {}),
    program: { ...program, ...(terminal ? { terminal: { ...terminal, modes: terminal.modes.toString('base64') } } : {}) },
    ...(request.greeting && request.greeting.length > 0 ? { greeting: request.greeting.toString('base64') } : {}),
    command: request.command,
    logSize: request.logSize,
    idleTimeoutSeconds: request.idleTimeoutSeconds,
    ...(request.files ? { files: request.files } : {}),
  };
}

/** A session's files are single names directly in /tmp: the holder unlinks them and nothing else. */
const SESSION_FILE = /^\/tmp\/[A-Za-z0-9._-]{1,100}$/;

function decodeFiles(value: unknown): HeldSessionFiles | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new HolderProtocolError('bad session files');
  const files: HeldSessionFiles = {};
  for (const key of ['ccache', 'agentSocket'] as const) {
    const path = field(value as Record<string, unknown>, key, 'string', true);
    if (path === undefined) continue;
    if (!SESSION_FILE.test(path) || path.includes('..')) throw new HolderProtocolError(`bad session file ${key}`);
    files[key] = path;
  }
  return files;
}

function stringArray(value: unknown, name: string, max: number): string[] {
  if (!Array.isArray(value) || value.length > max || !value.every((item) => typeof item === 'string')) {
    throw new HolderProtocolError(`field ${name} must be a list of strings`);
  }
  return value as string[];
}

function decodeTerminal(value: Record<string, unknown>): TerminalRequest {
  return {
    term: field(value, 'term', 'string')!,
    columns: field(value, 'columns', 'number')!,
    rows: field(value, 'rows', 'number')!,
    modes: Buffer.from(field(value, 'modes', 'string')!, 'base64'),
  };
}

function decodeProgram(value: Record<string, unknown>): SessionProgram {
  const env = field(value, 'env', 'object')!;
  const entries = Object.entries(env);
  if (entries.length > MAX_ENVIRONMENT || !entries.every(([, v]) => typeof v === 'string')) throw new HolderProtocolError('bad environment');
  const terminal = field(value, 'terminal', 'object', true);
  return {
    file: field(value, 'file', 'string')!,
    args: stringArray(value.args, 'args', MAX_ARGUMENTS),
    env: Object.fromEntries(entries) as Record<string, string>,
    cwd: field(value, 'cwd', 'string')!,
    ...(terminal ? { terminal: decodeTerminal(terminal) } : {}),
  };
}

export function decodeCreate(message: Record<string, unknown>): CreateHeldSession {
  const name = field(message, 'name', 'string', true);
  if (name !== undefined && name !== '' && !validSessionName(name)) throw new HolderProtocolError('bad session name');
  const logSize = field(message, 'logSize', 'number')!;
  const idleTimeoutSeconds = field(message, 'idleTimeoutSeconds', 'number')!;
  if (idleTimeoutSeconds < 0) throw new HolderProtocolError('bad idle timeout');
  const greeting = field(message, 'greeting', 'string', true);
  const files = decodeFiles(message.files);
  return {
    ...(name ? { name } : {}),
    program: decodeProgram(field(message, 'program', 'object')!),
    ...(greeting ? { greeting: Buffer.from(greeting, 'base64') } : {}),
    command: field(message, 'command', 'string')!,
    logSize: Math.min(Math.max(logSize, MIN_LOG_SIZE), MAX_LOG_SIZE),
    idleTimeoutSeconds,
    ...(files ? { files } : {}),
  };
}

export function encodeAttach(request: AttachHeldSession): ServerMessage {
  return { op: 'attach', ...request };
}

export function decodeAttach(message: Record<string, unknown>): AttachHeldSession {
  const replay = field(message, 'replay', 'string')!;
  if (replay !== 'offsets' && replay !== 'screen') throw new HolderProtocolError('bad replay');
  const id = field(message, 'id', 'string', true);
  const name = field(message, 'name', 'string', true);
  const outputFrom = field(message, 'outputFrom', 'number', true);
  const errorFrom = field(message, 'errorFrom', 'number', true);
  const reason = field(message, 'reason', 'string', true);
  return {
    ...(id !== undefined ? { id } : {}),
    ...(name !== undefined ? { name } : {}),
    replay,
    ...(outputFrom !== undefined ? { outputFrom: Math.max(0, outputFrom) } : {}),
    ...(errorFrom !== undefined ? { errorFrom: Math.max(0, errorFrom) } : {}),
    ...(reason !== undefined ? { reason: reason.slice(0, MAX_REASON_LENGTH).replace(/[\p{Cc}]/gu, ' ') } : {}),
  };
}

/** The server's check of a summary the holder sent (it is the user's process, so not beyond doubt either). */
export function decodeSummary(value: unknown): HeldSessionSummary {
  if (typeof value !== 'object' || value === null) throw new HolderProtocolError('bad session summary');
  const summary = value as Record<string, unknown>;
  return {
    id: field(summary, 'id', 'string')!,
    name: field(summary, 'name', 'string')!,
    command: field(summary, 'command', 'string')!,
    createdAt: field(summary, 'createdAt', 'number')!,
    lastActivityAt: field(summary, 'lastActivityAt', 'number')!,
    attached: field(summary, 'attached', 'boolean')!,
    terminal: field(summary, 'terminal', 'boolean')!,
    exited: field(summary, 'exited', 'boolean')!,
    ...(summary.files !== undefined ? { files: decodeFiles(summary.files) } : {}),
  };
}
