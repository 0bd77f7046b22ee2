/**
 * The server's way to a user's session holder: `holderFor` finds the holder on its socket, or starts one
 * (detached, as the user) and waits for it, and returns a SessionHolder. Each create or attach is its own
 * socket connection; list and spendToken share one control connection.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandAs, type RunAs } from '../session-process.ts';
import type { AttachHeldSession, CreateHeldSession, HeldAttachment, HeldSessionSummary, SessionHolder } from '../holder-api.ts';
import { checkUserDirectory, ensureUserDirectory, holderSocketPath } from './holder-directory.ts';
import { encodeControl, field, FRAME_CONTROL, frameReader, HolderProtocolError, readFrames, type FrameReader, type ServerMessage } from './holder-protocol.ts';
import { decodeSummary, encodeAttach, encodeCreate } from './holder-requests.ts';
import { RemoteAttachment, type AttachOutcome } from './remote-attachment.ts';

export interface HolderAddress {
  /** PersistentSessionDirectory. */
  directory: string;
  user: string;
  uid: number;
  gid: number;
  /** The account to start the holder as, when the server runs as root and the user is not root. */
  runAs?: RunAs;
}

/** The holder could not be reached or started in time. */
export class HolderUnavailableError extends Error {
  override readonly name = 'HolderUnavailableError';
}

const START_TIMEOUT_MS = 5_000;
const CONTROL_TIMEOUT_MS = 5_000;

function connectTo(path: string, reader?: FrameReader): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path, ...(reader ? { onread: reader.onread } : {}) });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** bin/tether.js of this installation: above src/ when running from sources, above dist/ when built. */
function tetherEntry(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth += 1) {
    const candidate = join(directory, 'bin', 'tether.js');
    if (existsSync(candidate)) return candidate;
    directory = dirname(directory);
  }
  throw new HolderUnavailableError('cannot find bin/tether.js to start the session holder');
}

/** Starts `tether session-holder` detached (its own session, setsid), as the user, with no stdio. */
function spawnHolder(userDirectory: string, runAs: RunAs | undefined): void {
  const fromSources = extname(fileURLToPath(import.meta.url)) === '.ts';
  const command = commandAs(runAs, process.execPath, [tetherEntry(), 'session-holder', '--directory', userDirectory]);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  if (fromSources) env.TETHER_SOURCE = '1';
  const child = spawn(command.file, command.args, { detached: true, stdio: 'ignore', cwd: '/', env });
  child.once('error', () => {}); // reported as the socket not appearing
  child.unref();
}

async function reachHolder(userDirectory: string, runAs: RunAs | undefined, reader?: FrameReader): Promise<Socket> {
  const path = holderSocketPath(userDirectory);
  try {
    return await connectTo(path, reader);
  } catch {
    // No holder yet (or a stale socket): start one; it sorts out a stale socket or a rival itself.
  }
  spawnHolder(userDirectory, runAs);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      return await connectTo(path, reader);
    } catch (error) {
      lastError = error;
    }
  }
  throw new HolderUnavailableError(`session holder did not start: ${(lastError as Error)?.message ?? 'timeout'}`);
}

class RemoteHolder implements SessionHolder {
  private nextSeq = 1;
  private readonly pending = new Map<number, { resolve: (message: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  private closed = false;

  private readonly control: Socket;
  private readonly userDirectory: string;
  private readonly uid: number;
  private readonly runAs: RunAs | undefined;

  constructor(control: Socket, userDirectory: string, uid: number, runAs: RunAs | undefined) {
    this.control = control;
    this.userDirectory = userDirectory;
    this.uid = uid;
    this.runAs = runAs;
    control.on('error', () => {});
    control.once('close', () => {
      this.closed = true;
      for (const waiter of this.pending.values()) waiter.reject(new HolderUnavailableError('session holder went away'));
      this.pending.clear();
    });
    readFrames(control, (frame) => {
      if (frame.type !== FRAME_CONTROL) throw new HolderProtocolError('unexpected frame on the control connection');
      const seq = field(frame.message, 'seq', 'number')!;
      const waiter = this.pending.get(seq);
      if (!waiter) throw new HolderProtocolError('answer to nothing');
      this.pending.delete(seq);
      waiter.resolve(frame.message);
    });
  }

  private request(message: { op: 'list' } | Omit<Extract<ServerMessage, { op: 'spend' }>, 'seq'>): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new HolderUnavailableError('session holder connection is closed'));
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new HolderUnavailableError('session holder did not answer'));
      }, CONTROL_TIMEOUT_MS);
      timer.unref();
      this.pending.set(seq, {
        resolve: (answer) => (clearTimeout(timer), resolve(answer)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.control.write(encodeControl({ ...message, seq } as ServerMessage));
    });
  }

  /**
   * A fresh connection for one attachment, re-checking the directory first; a holder that has left since
   * (it had no sessions) is started again.
   */
  private async openAttachment(request: ServerMessage): Promise<AttachOutcome> {
    checkUserDirectory(this.userDirectory, this.uid);
    const reader = frameReader();
    return RemoteAttachment.open(await reachHolder(this.userDirectory, this.runAs, reader), reader, request);
  }

  async create(request: CreateHeldSession): Promise<HeldAttachment> {
    const outcome = await this.openAttachment(encodeCreate(request));
    if ('none' in outcome) throw new HolderProtocolError('holder answered a create with no session');
    return outcome.attachment;
  }

  async attach(request: AttachHeldSession): Promise<HeldAttachment | undefined> {
    const outcome = await this.openAttachment(encodeAttach(request));
    return 'none' in outcome ? undefined : outcome.attachment;
  }

  async list(): Promise<HeldSessionSummary[]> {
    const answer = await this.request({ op: 'list' });
    if (!Array.isArray(answer.sessions)) throw new HolderProtocolError('bad session list');
    return answer.sessions.map(decodeSummary);
  }

  async spendToken(sessionId: string, proof: Buffer, connectionSessionId: Buffer, user: string): Promise<boolean> {
    const answer = await this.request({
      op: 'spend',
      id: sessionId,
      proof: proof.toString('base64'),
      connectionSessionId: connectionSessionId.toString('base64'),
      user,
    });
    return answer.ok === true;
  }

  close(): void {
    this.control.end();
  }
}

/**
 * The SessionHolder for `address.user`: connects to `<directory>/<uid>/holder.sock`, or starts the holder
 * and waits (at most 5 s) for it. The directories are created or checked first (holder-directory.ts).
 */
export async function holderFor(address: HolderAddress): Promise<SessionHolder> {
  const userDirectory = ensureUserDirectory(address.directory, address.uid, address.gid);
  const runAs = address.runAs ?? (process.getuid?.() === 0 && address.uid !== 0 ? { uid: address.uid, gid: address.gid } : undefined);
  const control = await reachHolder(userDirectory, runAs);
  return new RemoteHolder(control, userDirectory, address.uid, runAs);
}
