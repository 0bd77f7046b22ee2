/**
 * The compression of each direction of a transport, across key re-exchanges (RFC 4253 §6.2, OpenSSH
 * PROTOCOL §2.2).
 *
 * Every NEWKEYS starts a fresh zlib stream for its direction, or none: compression is one of the algorithms
 * each exchange negotiates, and the context carries over between packets, not across key sets. OpenSSH's
 * ssh_set_newkeys() calls deflateInit()/inflateInit() again each time, so keeping the old stream corrupts the
 * first packet after a re-exchange for every other implementation. zlib@openssh.com ("delayed") starts only
 * once user authentication succeeds, so an unauthenticated peer cannot reach the decompressor; after that,
 * each re-exchange restarts it at NEWKEYS like plain zlib.
 */
import { createCompressor, createDecompressor, type Compressor, type Decompressor } from '../crypto/compression.ts';

export type Direction = 'in' | 'out';

export class PacketCompression {
  private compressor: Compressor | undefined;
  private decompressor: Decompressor | undefined;
  /** The compression the keys in force negotiated, per direction. */
  private readonly names: Record<Direction, string> = { in: 'none', out: 'none' };
  private authenticated = false;
  private readonly debug: (message: string) => void;

  constructor(debug: (message: string) => void) {
    this.debug = debug;
  }

  /** New keys take effect in `direction` (NEWKEYS sent: 'out'; received: 'in') with compression `name`. */
  newKeys(direction: Direction, name: string): void {
    this.stop(direction);
    this.names[direction] = name;
    this.start(direction);
  }

  /** USERAUTH_SUCCESS sent (server) or received (client): delayed compression begins with the next packet. */
  authenticationSucceeded(): void {
    if (this.authenticated) return;
    this.authenticated = true;
    this.start('out');
    this.start('in');
  }

  compress(payload: Buffer): Buffer {
    return this.compressor ? this.compressor.compress(payload) : payload;
  }

  decompress(payload: Buffer): Buffer {
    return this.decompressor ? this.decompressor.decompress(payload) : payload;
  }

  /** Frees the native zlib state now rather than at garbage collection. */
  close(): void {
    this.stop('in');
    this.stop('out');
  }

  private start(direction: Direction): void {
    const name = this.names[direction];
    if (name === 'none' || (name === 'zlib@openssh.com' && !this.authenticated)) return;
    if (direction === 'out' && !this.compressor) {
      // ssh -v's line, printed at each start (packet.c start_compression_out).
      this.debug('Enabling compression at level 6.');
      this.compressor = createCompressor(name)!;
    } else if (direction === 'in' && !this.decompressor) {
      this.decompressor = createDecompressor(name)!;
    }
  }

  private stop(direction: Direction): void {
    if (direction === 'out') {
      this.compressor?.close();
      this.compressor = undefined;
    } else {
      this.decompressor?.close();
      this.decompressor = undefined;
    }
  }
}
