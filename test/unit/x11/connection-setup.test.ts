import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { substituteAuthorization, type SpoofedAuthorization } from '../../../src/client/x11/connection-setup.ts';

const pad = (buffer: Buffer) => Buffer.concat([buffer, Buffer.alloc((4 - (buffer.length % 4)) % 4)]);

/** An X11 connection setup request as a client sends it ("Connection Setup" in the X protocol). */
function setupRequest(order: 'B' | 'l', protocol: string, data: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head[0] = order.charCodeAt(0);
  const write16 = (value: number, offset: number) => (order === 'B' ? head.writeUInt16BE(value, offset) : head.writeUInt16LE(value, offset));
  write16(11, 2);
  write16(0, 4);
  write16(protocol.length, 6);
  write16(data.length, 8);
  return Buffer.concat([head, pad(Buffer.from(protocol, 'latin1')), pad(data)]);
}

const auth: SpoofedAuthorization = {
  protocol: 'MIT-MAGIC-COOKIE-1',
  fakeData: randomBytes(16),
  realData: randomBytes(16),
};

describe('X11 connection setup: fake cookie checked and replaced', () => {
  for (const order of ['B', 'l'] as const) {
    test(`byte order '${order}': the fake cookie is swapped for the real one, everything else kept`, () => {
      const trailing = Buffer.from('first request bytes');
      const sent = Buffer.concat([setupRequest(order, auth.protocol, auth.fakeData), trailing]);
      const result = substituteAuthorization(sent, auth);
      assert.equal(result.status, 'accepted');
      assert.deepEqual(result.bytes, Buffer.concat([setupRequest(order, auth.protocol, auth.realData), trailing]));
      assert.deepEqual(sent.subarray(12 + 20, 12 + 20 + 16), auth.fakeData, 'the caller\'s buffer is not modified');
    });
  }

  test('incomplete until every byte of the padded name and data has arrived', () => {
    const full = setupRequest('l', auth.protocol, auth.fakeData);
    for (let length = 0; length < full.length; length++) {
      assert.deepEqual(substituteAuthorization(full.subarray(0, length), auth), { status: 'incomplete' }, `at ${length} bytes`);
    }
    assert.equal(substituteAuthorization(full, auth).status, 'accepted');
  });

  test('a bad byte-order byte is refused', () => {
    const sent = setupRequest('B', auth.protocol, auth.fakeData);
    sent[0] = 0x41;
    assert.deepEqual(substituteAuthorization(sent, auth), { status: 'rejected', reason: 'Initial X11 packet contains bad byte order byte: 0x41' });
  });

  test('another authorization protocol, or none, is refused', () => {
    assert.deepEqual(substituteAuthorization(setupRequest('l', 'XDM-AUTHORIZATION-1', auth.fakeData), auth),
      { status: 'rejected', reason: 'X11 connection uses different authentication protocol.' });
    assert.equal(substituteAuthorization(setupRequest('l', '', Buffer.alloc(0)), auth).status, 'rejected');
  });

  test('the real cookie, a wrong cookie or a truncated fake one is refused', () => {
    const mismatch = { status: 'rejected', reason: 'X11 auth data does not match fake data.' };
    assert.deepEqual(substituteAuthorization(setupRequest('B', auth.protocol, auth.realData), auth), mismatch);
    const flipped = Buffer.from(auth.fakeData);
    flipped[15]! ^= 1;
    assert.deepEqual(substituteAuthorization(setupRequest('B', auth.protocol, flipped), auth), mismatch);
    assert.deepEqual(substituteAuthorization(setupRequest('B', auth.protocol, auth.fakeData.subarray(0, 15)), auth), mismatch);
    assert.deepEqual(substituteAuthorization(setupRequest('B', auth.protocol, Buffer.alloc(0)), auth), mismatch);
  });

  test('a real cookie of another length than the fake one is refused rather than spliced in', () => {
    const uneven = { ...auth, realData: randomBytes(8) };
    assert.deepEqual(substituteAuthorization(setupRequest('l', auth.protocol, auth.fakeData), uneven),
      { status: 'rejected', reason: 'X11 fake_data_len 16 != saved_data_len 8' });
  });
});
