/**
 * Global requests in both directions (RFC 4254 §4). Replies carry no request id, so ours are matched to our
 * requests by order, and the peer's must leave in the order it asked even when a handler answers later than
 * one after it (tcpip-forward binds first): each incoming request takes a place in line.
 */
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';
import type { IncomingGlobalRequest } from './requests.ts';

export interface GlobalRequestHost {
  send(payload: Buffer): boolean;
  readonly isClosed: boolean;
  /** The peer has maxPending replies owed and its input is being held back. */
  onLimit(max: number, name: string): void;
}

export class GlobalRequests {
  private readonly host: GlobalRequestHost;
  private readonly maxPending: number;
  /** Our want-reply requests, oldest first. */
  private readonly awaitingReplies: Array<(success: boolean, data: Buffer) => void> = [];
  /** Replies we owe the peer, in request order; each is sent once it and all before it are answered. */
  private readonly replyLine: Array<{ answer?: Buffer }> = [];
  private resumeAfterReplies: () => void = () => {};

  constructor(host: GlobalRequestHost, maxPending: number) {
    this.host = host;
    this.maxPending = maxPending;
  }

  /** Sends a request; with want-reply, resolves to the outcome and any response data. */
  send(name: string, data: Buffer, wantReply: boolean): Promise<{ success: boolean; data: Buffer }> {
    const message = new Writer(32 + data.length).byte(SSH_MSG.GLOBAL_REQUEST).string(name).boolean(wantReply).raw(data);
    const reply = wantReply
      ? new Promise<{ success: boolean; data: Buffer }>((resolve) =>
          this.awaitingReplies.push((success, responseData) => resolve({ success, data: responseData })),
        )
      : Promise.resolve({ success: true, data: Buffer.alloc(0) });
    this.host.send(message.finish());
    return reply;
  }

  /** REQUEST_SUCCESS / REQUEST_FAILURE from the peer. */
  receiveReply(success: boolean, data: Buffer): void {
    const reply = this.awaitingReplies.shift();
    if (!reply) throw new ProtocolError('unexpected global request reply');
    reply(success, data);
  }

  /**
   * The peer's GLOBAL_REQUEST, handed to `handler` (none: refused). Returns a promise, holding input back,
   * while maxPending replies are owed: a flood of slow requests is then paused rather than queued.
   */
  receiveRequest(reader: Reader, handler: ((request: IncomingGlobalRequest) => void) | undefined): Promise<void> | undefined {
    const name = reader.text(256);
    const wantReply = reader.boolean();
    const data = reader.rest();
    const place: { answer?: Buffer } = {};
    if (wantReply) this.replyLine.push(place);
    const reply = (success: boolean, responseData: Buffer = Buffer.alloc(0)) => {
      if (!wantReply || place.answer) return;
      place.answer = Buffer.from(
        new Writer(8 + responseData.length).byte(success ? SSH_MSG.REQUEST_SUCCESS : SSH_MSG.REQUEST_FAILURE).raw(responseData).finish(),
      );
      while (this.replyLine[0]?.answer) this.host.send(this.replyLine.shift()!.answer!);
      if (this.replyLine.length < this.maxPending) this.resumeAfterReplies();
    };
    if (!handler) reply(false);
    else handler({ name, wantReply, data, reply });
    return this.waitForReplyRoom(name);
  }

  /** The connection ended: our outstanding requests fail, held-back input is released. */
  close(): void {
    for (const reply of this.awaitingReplies.splice(0)) reply(false, Buffer.alloc(0));
    this.resumeAfterReplies();
  }

  private waitForReplyRoom(name: string): Promise<void> | undefined {
    if (this.replyLine.length < this.maxPending || this.host.isClosed) return undefined;
    this.host.onLimit(this.maxPending, name);
    return new Promise<void>((resolve) => {
      this.resumeAfterReplies = () => {
        this.resumeAfterReplies = () => {};
        resolve();
      };
    });
  }
}
