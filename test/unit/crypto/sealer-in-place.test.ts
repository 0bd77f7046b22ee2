/**
 * The in-place sealing contract (issue 17): the payload is encoded straight into plaintext(n) at
 * PAYLOAD_OFFSET and sealPlaintext() returns the wire bytes as pieces that never alias the reused plaintext
 * buffer, so the transport can queue them while the next packet is built; seal() is the same joined up.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PAYLOAD_OFFSET, createNoneOpener, createNoneSealer, createOpener, createSealer } from '../../../src/crypto/cipher/index.ts';
import type { PacketOpener, PacketSealer } from '../../../src/crypto/cipher/index.ts';
import { keysFor } from '../../helpers/cipher-keys.ts';


const PAIRS: { name: string; make(): { sealer: PacketSealer; opener: PacketOpener } }[] = [
  { name: 'none', make: () => ({ sealer: createNoneSealer(), opener: createNoneOpener() }) },
  ...[
    ['chacha20-poly1305@openssh.com', ''],
    ['aes128-gcm@openssh.com', ''],
    ['aes256-ctr', 'hmac-sha2-512-etm@openssh.com'],
    ['aes128-ctr', 'hmac-sha2-256'],
  ].map(([cipher, mac]) => ({
    name: mac ? `${cipher} + ${mac}` : cipher!,
    make: () => {
      const keys = keysFor(cipher!, mac!);
      return { sealer: createSealer(keys), opener: createOpener(keys) };
    },
  })),
];

function open(opener: PacketOpener, sequence: number, wire: Buffer): Buffer {
  const length = opener.packetLength(sequence, wire.subarray(0, opener.headerLength));
  assert.equal(wire.length, 4 + length + opener.macLength, 'one packet, exactly');
  return opener.open(sequence, wire);
}

describe('sealing in place', () => {
  for (const pair of PAIRS) {
    it(`${pair.name}: pieces survive reuse of the plaintext buffer, and interleaved sealers share it safely`, () => {
      const first = pair.make();
      const second = pair.make();
      const sent: { which: typeof first; sequence: number; payload: Buffer; pieces: Buffer[] }[] = [];
      // Alternate two connections' sealers over many sizes, as a server with two busy connections would.
      for (let sequence = 0; sequence < 40; sequence++) {
        for (const which of [first, second]) {
          const payload = randomBytes((sequence * 977) % 40_000);
          which.sealer.plaintext(payload.length).set(payload, PAYLOAD_OFFSET);
          const pieces = which.sealer.sealPlaintext(sequence, payload.length);
          sent.push({ which, sequence, payload, pieces });
        }
      }
      // Only now, after every later packet reused the plaintext buffer, are the earlier pieces opened.
      for (const { which, sequence, payload, pieces } of sent) {
        assert.deepEqual(open(which.opener, sequence, Buffer.concat(pieces)), payload, `${sequence}, ${payload.length} bytes`);
      }
    });

    it(`${pair.name}: payloads that grow the shared plaintext buffer, or exceed what it keeps (1 MiB)`, () => {
      const { sealer, opener } = pair.make();
      const grown = randomBytes(200 * 1024);
      assert.deepEqual(open(opener, 0, sealer.seal(0, grown)), grown, 'grows the buffer');
      // Past the transport's packet limit, which any opener refuses, so only its size is checked.
      const huge = randomBytes(1024 * 1024 + 3);
      sealer.plaintext(huge.length).set(huge, PAYLOAD_OFFSET);
      const wire = Buffer.concat(sealer.sealPlaintext(1, huge.length));
      const padding = wire.length - opener.macLength - 4 - 1 - huge.length;
      assert.ok(padding >= 4 && padding < 20, `padding ${padding}`);
      const other = pair.make();
      const small = randomBytes(100);
      assert.deepEqual(open(other.opener, 0, other.sealer.seal(0, small)), small, 'the kept buffer still serves');
    });
  }

  it('seal() of a finished payload and sealPlaintext() of the same bytes put the same packet on the wire (none)', () => {
    const payload = randomBytes(77);
    const sealer = createNoneSealer();
    const joined = sealer.seal(0, payload);
    sealer.plaintext(payload.length).set(payload, PAYLOAD_OFFSET);
    assert.deepEqual(Buffer.concat(sealer.sealPlaintext(0, payload.length)), joined);
  });
});
