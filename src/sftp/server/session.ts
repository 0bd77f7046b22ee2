/**
 * One SFTP server session over a byte stream pair (a subsystem's stdin/stdout, or any duplex a program
 * mounts it on). INIT is answered with VERSION 3 and OpenSSH's extension list.
 *
 * Reads and writes run concurrently (that is what makes one large transfer fast); every other request waits
 * for those before it and holds those after it, so a CLOSE follows the writes sent before it and a listing
 * sees the directory a MKDIR just made. Replies still leave in request order, as from OpenSSH's sequential
 * sftp-server: draft-02 §6.1 allows any order, but OpenSSH's client (scp, `sftp` writing in place) keeps
 * only the data that arrived in order and truncates the rest. Bounded: packets to 256 KiB (longer ones end the session, as
 * sftp-server exits), requests in progress to MAX_IN_PROGRESS, parsed-but-unstarted ones to
 * MAX_QUEUED_BYTES (input pauses, so the channel's window closes), and replies to what the output stream
 * accepts: input pauses while it is full.
 */
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { DecodeError } from '../../wire/errors.ts';
import {
  decodeInit, decodeRequest, encodeVersion, OPENSSH_EXTENSIONS, PacketBufferPool, peekRequestId, SFTP_MAX_PACKET_LENGTH, SFTP_VERSION, SftpPacketParser,
  SSH_FX, SSH_FXP, UnknownSftpTypeError,
} from '../protocol.ts';
import { statusReply, type SftpContext } from './context.ts';
import { closeEntry, HandleTable } from './handles.ts';
import { visible, type SftpLog } from './log.ts';
import { NameLookup } from './names.ts';
import { SftpPaths } from './paths.ts';
import { answer, EXTENDED_KINDS, permitted, type RequestPolicy } from './requests.ts';
import { statusForError } from './status.ts';

/** Requests being answered at once (OpenSSH's sftp keeps 64 in flight by default). */
export const MAX_IN_PROGRESS = 64;
/** Received requests not yet started, in bytes, before input pauses. */
export const MAX_QUEUED_BYTES = 1024 * 1024;
/** Packet buffers kept for reuse (READ replies, WRITE requests): as many as may be in progress at once. */
const POOLED_FREE = MAX_IN_PROGRESS;

export interface SftpServerOptions extends RequestPolicy {
  input: Readable;
  output: Writable;
  log: SftpLog;
  /** The real ChrootDirectory (realpath'd), or null. */
  root: string | null;
  /** Start directory: virtual under a root, real otherwise. */
  cwd: string;
  account: { name: string; uid: number; home: string };
  /** From SSH_CONNECTION, for the session log lines; "UNKNOWN" without it. */
  clientAddress: string;
  maxOpenHandles?: number;
  /**
   * Whether `output` has copied or sent a reply by the time its write callback runs, so that a READ reply's
   * buffer may be reused then. A socket has (sftp-server's stdout); a PassThrough has not. By default:
   * whether it is a net.Socket.
   */
  outputCopiesWrites?: boolean;
}

const CONCURRENT = new Set<number>([SSH_FXP.READ, SSH_FXP.WRITE]);

export class SftpServerSession {
  private readonly options: SftpServerOptions;
  private readonly context: SftpContext;
  private readonly buffers = new PacketBufferPool(SFTP_MAX_PACKET_LENGTH + 4, POOLED_FREE);
  private readonly parser = new SftpPacketParser(undefined, this.buffers);
  private readonly reuseReplies: boolean;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  /** Started requests in order, until their replies have been written. */
  private readonly replies: { done: boolean; reply: Buffer | undefined }[] = [];
  /** Started requests not yet answered. */
  private inProgress = 0;
  private flushScheduled = false;
  private exclusive = false;
  private outputFull = false;
  private initDone = false;
  private ended = false;
  private inputDone = false;
  private finished!: () => void;
  /** sftp-server's exit status: 0 at end of input, 11 for an oversized packet, 255 for other protocol errors. */
  exitCode = 0;
  /** Resolves when the session is over: input ended or broke, or the peer broke the protocol. */
  readonly done: Promise<void>;

  constructor(options: SftpServerOptions) {
    this.options = options;
    this.context = {
      paths: new SftpPaths(options.root, options.cwd),
      handles: new HandleTable(options.maxOpenHandles),
      log: options.log,
      names: new NameLookup(options.root ?? '/'),
      readOnly: options.readOnly,
      account: options.account,
      buffers: this.buffers,
    };
    this.reuseReplies = options.outputCopiesWrites ?? options.output instanceof Socket;
    this.done = new Promise((resolve) => (this.finished = resolve));
  }

  start(): Promise<void> {
    const { input, output, log, account, clientAddress } = this.options;
    log.info(`session opened for local user ${account.name} from [${clientAddress}]`);
    input.on('data', (chunk: Buffer) => this.receive(chunk));
    input.on('end', () => {
      log.debug('read eof');
      this.inputDone = true;
      this.pump();
    });
    input.on('error', (error) => this.end(`read: ${error.message}`));
    output.on('drain', () => {
      this.outputFull = false;
      this.pump();
    });
    output.on('error', () => this.end());
    return this.done;
  }

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    let packets: Buffer[];
    try {
      packets = this.parser.push(chunk);
    } catch {
      this.end(`bad message from ${this.options.clientAddress} local user ${this.options.account.name}`, 11);
      return;
    }
    for (const packet of packets) {
      this.queue.push(packet);
      this.queuedBytes += packet.length;
    }
    this.pump();
  }

  /** Starts what may start; pauses or resumes input to keep the bounds. */
  private pump(): void {
    while (!this.ended && this.queue.length > 0 && !this.outputFull && !this.exclusive && this.replies.length < MAX_IN_PROGRESS) {
      const type = this.queue[0]![0]!;
      const concurrent = CONCURRENT.has(type);
      if (!concurrent && this.inProgress > 0) break;
      const payload = this.queue.shift()!;
      this.queuedBytes -= payload.length;
      if (!concurrent) this.exclusive = true;
      this.inProgress++;
      const slot = { done: false, reply: undefined as Buffer | undefined };
      this.replies.push(slot);
      void this.process(payload).then((reply) => {
        slot.done = true;
        slot.reply = reply;
        this.complete(concurrent);
      });
    }
    if (this.ended) return;
    const input = this.options.input;
    if (this.queuedBytes >= MAX_QUEUED_BYTES || this.outputFull) input.pause();
    else if (input.isPaused()) input.resume();
    if (this.inputDone && this.queue.length === 0 && this.replies.length === 0) this.end();
  }

  private complete(concurrent: boolean): void {
    this.inProgress--;
    if (!concurrent) this.exclusive = false;
    // Replies that finished in the same turn of the event loop go out in one write: thousands of small
    // WRITE acknowledgements would otherwise cost a system call each.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const output = this.options.output;
    output.cork();
    while (this.replies[0]?.done) {
      const { reply } = this.replies.shift()!;
      if (!reply || this.ended) continue;
      // A READ reply's buffer carries a later one once the output has taken it.
      const written = this.reuseReplies && this.buffers.owns(reply) ? output.write(reply, () => this.buffers.release(reply)) : output.write(reply);
      if (!written) this.outputFull = true;
    }
    // One writev(2) for all of them.
    output.uncork();
    this.pump();
  }

  /** The reply to one packet; never throws. undefined when there is none (the session is ending). */
  private async process(payload: Buffer): Promise<Buffer | undefined> {
    const { log } = this.context;
    const type = payload[0]!;
    if (type === SSH_FXP.INIT) return this.init(payload);
    if (!this.initDone) {
      this.end(type === SSH_FXP.EXTENDED ? 'Received extended request before init' : `Received ${type} request before init`);
      return undefined;
    }
    const id = peekRequestId(payload);
    try {
      return await answer(this.context, this.options, decodeRequest(payload));
    } catch (error) {
      if (id === undefined) {
        this.end('parse: truncated request');
        return undefined;
      }
      if (error instanceof UnknownSftpTypeError) {
        log.error(`Unknown message ${type}`);
        return statusReply(this.context, id, SSH_FX.OP_UNSUPPORTED);
      }
      if (error instanceof DecodeError) {
        log.error(`request ${id}: malformed: ${error.message}`);
        return statusReply(this.context, id, SSH_FX.BAD_MESSAGE);
      }
      const { code } = statusForError(error);
      if (code === SSH_FX.FAILURE) log.debug(`request ${id}: ${(error as Error)?.message ?? String(error)}`);
      return statusReply(this.context, id, code);
    }
  }

  private init(payload: Buffer): Buffer | undefined {
    let version: number;
    try {
      version = decodeInit(payload).version;
    } catch {
      this.end('parse: malformed init');
      return undefined;
    }
    this.context.log.verbose(`received client version ${version}`);
    this.initDone = true;
    // Extensions the -P / -p lists or read-only mode refuse are not announced.
    const quiet = { ...this.context, log: { ...this.context.log, verbose: () => {}, debug2: () => {} } };
    const announced = OPENSSH_EXTENSIONS.filter((extension) => permitted(this.options, EXTENDED_KINDS.get(extension.name)!, quiet));
    return encodeVersion(SFTP_VERSION, announced);
  }

  /** Ends the session: logs why (if an error), closes every handle as sftp-server's exit does, resolves done. */
  private end(reason?: string, exitCode = 255): void {
    if (this.ended) return;
    this.ended = true;
    if (reason) this.exitCode = exitCode;
    const { log, account, clientAddress } = this.options;
    if (reason) log.error(reason);
    this.options.input.pause();
    void (async () => {
      // Requests still running finish against their handles before those close.
      for (let waited = 0; this.inProgress > 0 && waited < 600; waited++) await new Promise((resolve) => setTimeout(resolve, 50));
      for (const entry of this.context.handles.drain()) {
        if (entry.kind === 'file') log.info(`forced close "${visible(entry.name)}" bytes read ${entry.bytesRead} written ${entry.bytesWritten}`);
        else log.info(`forced closedir "${visible(entry.name)}"`);
        await closeEntry(entry).catch(() => {});
      }
      log.info(`session closed for local user ${account.name} from [${clientAddress}]`);
      this.finished();
    })();
  }
}
