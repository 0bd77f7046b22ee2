/**
 * Framing on the holder's socket (src/sessions/holder/holder-protocol.ts): frames split anywhere reassemble,
 * and oversized, unknown or malformed frames are refused with HolderProtocolError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeBytes,
  encodeControl,
  encodeOutput,
  FrameDecoder,
  FRAME_CONTROL,
  FRAME_INPUT,
  FRAME_OUTPUT,
  HolderProtocolError,
  MAX_FRAME_LENGTH,
} from '../../../src/sessions/holder/holder-protocol.ts';

test('frames split at every byte reassemble in order', () => {
  const wire = Buffer.concat([
    encodeControl({ op: 'eof' }),
    encodeOutput(1, 2 ** 40, Buffer.from('stderr bytes')),
    encodeBytes(FRAME_INPUT, Buffer.from('typed')),
  ]);
  const decoder = new FrameDecoder();
  const frames = [];
  for (let i = 0; i < wire.length; i += 1) frames.push(...decoder.push(wire.subarray(i, i + 1)));
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[0], { type: FRAME_CONTROL, message: { op: 'eof' } });
  assert.deepEqual(frames[1], { type: FRAME_OUTPUT, stream: 1, offset: 2 ** 40, data: Buffer.from('stderr bytes') });
  assert.deepEqual(frames[2], { type: FRAME_INPUT, data: Buffer.from('typed') });
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
