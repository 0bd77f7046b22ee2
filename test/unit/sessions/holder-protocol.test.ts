/**
 * Framing on the holder's socket (src/sessions/holder/holder-protocol.ts): frames split anywhere reassemble,
 * and oversized, unknown or malformed frames are refused with HolderProtocolError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeBytes,
  encodeBytesHeader,
  encodeControl,
  encodeOutput,
  encodeOutputHeader,
  FrameDecoder,
  FRAME_CONTROL,
  FRAME_INPUT,
  FRAME_OUTPUT,
  HolderProtocolError,
  MAX_DATA_CHUNK,
  MAX_FRAME_LENGTH,
  type Frame,
} from '../../../src/sessions/holder/holder-protocol.ts';

/** Joins consecutive pieces of the same data frame, as a consumer sees the bytes. */
function joined(frames: Frame[]): Frame[] {
  const out: Frame[] = [];
  for (const frame of frames) {
    const last = out.at(-1);
    if (last && last.type === frame.type && last.type !== FRAME_CONTROL && frame.type !== FRAME_CONTROL) {
      (last as { data: Buffer }).data = Buffer.concat([last.data, frame.data]);
    } else {
      out.push(frame.type === FRAME_CONTROL ? frame : { ...frame, data: Buffer.from(frame.data) });
    }
  }
  return out;
}

test('frames split at every byte reassemble in order', () => {
  const wire = Buffer.concat([
    encodeControl({ op: 'eof' }),
    encodeOutput(1, 2 ** 40, Buffer.from('stderr bytes')),
    encodeControl({ op: 'resize', columns: 80, rows: 24 }),
    encodeBytes(FRAME_INPUT, Buffer.from('typed')),
  ]);
  const decoder = new FrameDecoder();
  const frames = [];
  for (let i = 0; i < wire.length; i += 1) frames.push(...decoder.push(wire.subarray(i, i + 1)));
  const whole = joined(frames);
  assert.equal(whole.length, 4);
  assert.deepEqual(whole[0], { type: FRAME_CONTROL, message: { op: 'eof' } });
  assert.deepEqual(whole[1], { type: FRAME_OUTPUT, stream: 1, offset: 2 ** 40, data: Buffer.from('stderr bytes') });
  assert.deepEqual(whole[2], { type: FRAME_CONTROL, message: { op: 'resize', columns: 80, rows: 24 } });
  assert.deepEqual(whole[3], { type: FRAME_INPUT, data: Buffer.from('typed') });
  // Every output piece carries the offset of its own first byte.
  const pieces = frames.filter((frame) => frame.type === FRAME_OUTPUT);
  assert.deepEqual(pieces.map((piece) => piece.offset), [...'stderr bytes'].map((_, i) => 2 ** 40 + i));
});

test('a data frame that spans reads is handed on in views of the chunks, not reassembled', () => {
  const data = Buffer.alloc(MAX_DATA_CHUNK, 7);
  const wire = Buffer.concat([encodeOutputHeader(0, 5000, data.length), data, encodeBytesHeader(FRAME_INPUT, 0)]);
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const chunks: Buffer[] = [];
  for (let at = 0; at < wire.length; at += 64 * 1024) {
    const chunk = Buffer.from(wire.subarray(at, at + 64 * 1024));
    chunks.push(chunk);
    frames.push(...decoder.push(chunk));
  }
  const output = frames.filter((frame) => frame.type === FRAME_OUTPUT);
  assert.equal(output.length, chunks.length);
  let offset = 5000;
  for (const [i, piece] of output.entries()) {
    assert.equal(piece.offset, offset);
    assert.equal(piece.data.buffer, chunks[i]!.buffer, 'a view of its chunk');
    offset += piece.data.length;
  }
  assert.equal(offset, 5000 + data.length);
  // An empty data frame still arrives, once.
  assert.deepEqual(frames.at(-1), { type: FRAME_INPUT, data: Buffer.alloc(0) });
  assert.equal(encodeOutputHeader(0, 0, MAX_DATA_CHUNK).readUInt32BE(0) + 4 <= MAX_FRAME_LENGTH + 4, true);
});

test('a frame longer than the limit is refused from its length alone, before its body arrives', () => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(MAX_FRAME_LENGTH + 1);
  assert.throws(() => new FrameDecoder().push(head), HolderProtocolError);
});

test('unknown types, bad JSON, control messages without op and bad streams are refused', () => {
  const frame = (type: number, payload: Buffer): Buffer => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(payload.length + 1);
    head.writeUInt8(type, 4);
    return Buffer.concat([head, payload]);
  };
  for (const bad of [
    frame(99, Buffer.alloc(0)),
    frame(FRAME_CONTROL, Buffer.from('{not json')),
    frame(FRAME_CONTROL, Buffer.from('[1,2]')),
    frame(FRAME_CONTROL, Buffer.from('{"seq":1}')),
    frame(FRAME_OUTPUT, Buffer.from([7, 0, 0, 0, 0, 0, 0, 0, 0])),
    frame(FRAME_OUTPUT, Buffer.from([0, 1])),
  ]) {
    assert.throws(() => new FrameDecoder().push(bad), HolderProtocolError);
  }
});
