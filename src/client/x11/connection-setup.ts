/**
 * The X11 connection setup an X client sends first (X Window System Protocol, "Connection Setup"), and the
 * authorization swap ssh makes in it (channels.c x11_open_helper): the remote client presents the fake cookie
 * ssh gave the server, and only if it matches exactly is it replaced by the real one before the bytes reach the
 * local X server. The real cookie therefore never leaves this machine.
 *
 *   1  byte-order   'B' (0x42) most significant byte first, 'l' (0x6c) least significant first
 *   1  unused
 *   2  protocol-major-version
 *   2  protocol-minor-version
 *   2  n  length of authorization-protocol-name
 *   2  d  length of authorization-protocol-data
 *   2  unused
 *   n  authorization-protocol-name, padded to a multiple of 4
 *   d  authorization-protocol-data, padded to a multiple of 4
 *
 * This is X11's own encoding (16-bit fields in the client's byte order), not SSH wire format, so it is read here
 * with Buffer's readUInt16BE/LE rather than src/wire's Reader.
 */
import { timingSafeEqual } from 'node:crypto';

const FIXED_PART = 12;
const MSB_FIRST = 0x42;
const LSB_FIRST = 0x6c;

export interface SpoofedAuthorization {
  /** The protocol name the client must use (the one the real cookie is for). */
  readonly protocol: string;
  /** The cookie given to the server in x11-req, which remote clients present. */
  readonly fakeData: Buffer;
  /** The local X server's cookie, substituted for the fake one. */
  readonly realData: Buffer;
}

export type SetupResult =
  /** Not all of the setup has arrived yet; call again with more bytes. */
  | { readonly status: 'incomplete' }
  /** The client did not present the fake cookie; `reason` is ssh's debug wording. */
  | { readonly status: 'rejected'; readonly reason: string }
  /** The bytes to send to the X server: the setup with the real cookie, then anything that followed it. */
  | { readonly status: 'accepted'; readonly bytes: Buffer };

const padded = (length: number) => (length + 3) & ~3;

/** Checks the buffered start of an X11 connection and swaps the fake cookie for the real one. */
export function substituteAuthorization(buffered: Buffer, auth: SpoofedAuthorization): SetupResult {
  if (buffered.length < FIXED_PART) return { status: 'incomplete' };
  const order = buffered[0]!;
  if (order !== MSB_FIRST && order !== LSB_FIRST) {
    return { status: 'rejected', reason: `Initial X11 packet contains bad byte order byte: 0x${order.toString(16)}` };
  }
  const read16 = (offset: number) => (order === MSB_FIRST ? buffered.readUInt16BE(offset) : buffered.readUInt16LE(offset));
  const nameLength = read16(6);
  const dataLength = read16(8);
  const dataOffset = FIXED_PART + padded(nameLength);
  const setupLength = dataOffset + padded(dataLength);
  if (buffered.length < setupLength) return { status: 'incomplete' };

  const name = buffered.subarray(FIXED_PART, FIXED_PART + nameLength);
  if (!name.equals(Buffer.from(auth.protocol, 'latin1'))) {
    return { status: 'rejected', reason: 'X11 connection uses different authentication protocol.' };
  }
  const presented = buffered.subarray(dataOffset, dataOffset + dataLength);
  // The cookie is a secret: compare in constant time, lengths first (timingSafeEqual needs equal lengths).
  if (presented.length !== auth.fakeData.length || !timingSafeEqual(presented, auth.fakeData)) {
    return { status: 'rejected', reason: 'X11 auth data does not match fake data.' };
  }
  if (auth.realData.length !== auth.fakeData.length) {
    return { status: 'rejected', reason: `X11 fake_data_len ${auth.fakeData.length} != saved_data_len ${auth.realData.length}` };
  }
  const bytes = Buffer.from(buffered);
  auth.realData.copy(bytes, dataOffset);
  return { status: 'accepted', bytes };
}
