/**
 * The client's count of a held session's output (docs/PROTOCOL.sessions §3, §4, §7): per stream (stdout, and
 * stderr as extended data 1) the offset of the next byte the server sends and how far we have delivered, so
 * that after a resume bytes we already have are skipped and bytes the server's log lost are counted; and when
 * an "ack@" is due.
 */
import { OUTPUT_ACK_SPACING } from '../connection/persistent-session-requests.ts';

export type OutputStream = 'output' | 'error';

export interface StreamCounts {
  output: number;
  error: number;
}

/**
 * §7: the client acknowledges output at least every 64 KiB, or the spacing session@ asks for (a quarter of
 * the holder's log), and once a second while any is unacknowledged.
 */
export const ACK_EVERY_BYTES = OUTPUT_ACK_SPACING;
export const ACK_INTERVAL_MS = 1000;

interface Cursor {
  /** Offset of the next byte the server sends on the current channel. */
  next: number;
  /** Offset just past the last byte delivered to the reader. */
  have: number;
}

export class OutputCounter {
  private readonly cursors: Record<OutputStream, Cursor> = { output: { next: 0, have: 0 }, error: { next: 0, have: 0 } };
  private acked: StreamCounts = { output: 0, error: 0 };
  /** Bytes of either stream that make an acknowledgement due; set from each session@ (§3). */
  spacing = ACK_EVERY_BYTES;

  /** Bytes delivered so far, as offsets in the session's streams. */
  get received(): StreamCounts {
    return { output: this.cursors.output.have, error: this.cursors.error.have };
  }

  /** The first "session@" (§3): our counts start where the session is now, nothing of it is ours yet. */
  start(offsets: StreamCounts): void {
    for (const stream of ['output', 'error'] as const) {
      this.cursors[stream].next = this.cursors[stream].have = offsets[stream];
    }
    this.acked = { ...offsets };
  }

  /** A resumed channel's streams start at `offsets` (§4); returns the bytes the server's log no longer held. */
  resync(offsets: StreamCounts): StreamCounts {
    const lost = { output: 0, error: 0 };
    for (const stream of ['output', 'error'] as const) {
      const cursor = this.cursors[stream];
      lost[stream] = Math.max(0, offsets[stream] - cursor.have);
      cursor.have = Math.max(cursor.have, offsets[stream]);
      cursor.next = offsets[stream];
    }
    return lost;
  }

  /** Counts a chunk received on `stream`; returns the part not delivered before (undefined: all of it was). */
  accept(stream: OutputStream, chunk: Buffer): Buffer | undefined {
    const cursor = this.cursors[stream];
    const start = cursor.next;
    cursor.next += chunk.length;
    if (cursor.next <= cursor.have) return undefined;
    const fresh = chunk.subarray(Math.max(0, cursor.have - start));
    cursor.have = cursor.next;
    return fresh;
  }

  /**
   * The counts to acknowledge now, or undefined: every `spacing` bytes, and (`periodic`, once a second) whenever
   * any is unacknowledged. Returned counts are taken as acknowledged.
   */
  due(periodic: boolean): StreamCounts | undefined {
    const { output, error } = this.received;
    const pendingOutput = output - this.acked.output;
    const pendingError = error - this.acked.error;
    if (pendingOutput <= 0 && pendingError <= 0) return undefined;
    if (!periodic && pendingOutput < this.spacing && pendingError < this.spacing) return undefined;
    this.acked = { output, error };
    return { output, error };
  }
}
