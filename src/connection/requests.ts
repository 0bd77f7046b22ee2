/**
 * What the connection layer hands its users for the peer's channel opens and global requests (RFC 4254 §4,
 * §5.1), and the error a refused open of ours rejects with.
 */
import { CHANNEL_OPEN_FAILURE } from '../wire/message-numbers.ts';
import type { Channel } from './channel.ts';

const FAILURE_TEXT: Record<number, string> = {
  [CHANNEL_OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED]: 'administratively prohibited',
  [CHANNEL_OPEN_FAILURE.CONNECT_FAILED]: 'connect failed',
  [CHANNEL_OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE]: 'unknown channel type',
  [CHANNEL_OPEN_FAILURE.RESOURCE_SHORTAGE]: 'resource shortage',
};

/** The peer refused to open a channel (RFC 4254 §5.1). The message reads like OpenSSH's. */
export class ChannelOpenError extends Error {
  override readonly name = 'ChannelOpenError';
  readonly reason: number;
  readonly description: string;
  /** Our number for the refused channel, for messages like ssh's "channel 3: open failed: …". */
  readonly channelId: number | undefined;
  constructor(reason: number, description: string, channelId?: number) {
    super(`open failed: ${FAILURE_TEXT[reason] ?? `reason ${reason}`}: ${description}`);
    this.reason = reason;
    this.description = description;
    this.channelId = channelId;
  }
}

/** A channel the peer asks to open; the handler must call accept() or reject() once. */
export interface IncomingChannelOpen {
  readonly type: string;
  /** Type-specific data following the common fields (e.g. direct-tcpip's host and port). */
  readonly data: Buffer;
  accept(options?: { window?: number; maxPacket?: number }): Channel;
  reject(reason: number, description: string): void;
  /** The CHANNEL_OPEN as it arrived, for a relay that passes it on (a mux proxy client, PROTOCOL.mux §9). */
  readonly message?: Buffer;
  /** The relay answers the open itself: the connection then sends neither confirmation nor failure. */
  handOff?(): void;
}

export interface IncomingGlobalRequest {
  readonly name: string;
  readonly wantReply: boolean;
  readonly data: Buffer;
  reply(success: boolean, data?: Buffer): void;
}
