/**
 * Every cipher × MAC combination through the PacketSealer / PacketOpener contract, fed the way the transport
 * feeds it: packetLength() on the first headerLength bytes, then open() on exactly 4 + length + macLength.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import {
  CIPHERS,
  DEFAULT_CIPHERS,
  DEFAULT_MACS,
  MACS,
  MacError,
  createNoneOpener,
  createNoneSealer,
  createOpener,
  createSealer,
} from '../../../src/crypto/cipher/index.ts';
import type { DirectionKeys, PacketOpener, PacketSealer } from '../../../src/crypto/cipher/index.ts';
import { DecodeError } from '../../../src/wire/errors.ts';

interface Suite {
  name: string;
  keys: DirectionKeys | null; // null: the pre-kex none/none state
  sealer(): PacketSealer;
  opener(): PacketOpener;
}

function suite(cipher: string, mac: string): Suite {
  const info = CIPHERS.get(cipher)!;
  const macInfo = info.aead ? undefined : MACS.get(mac)!;
  const keys: DirectionKeys = {
    cipher,
    mac: info.aead ? '' : mac,
    encryptionKey: randomBytes(info.keyLength),
    iv: randomBytes(info.ivLength),
    integrityKey: randomBytes(macInfo?.keyLength ?? 0),
  };
  return {
    name: info.aead ? cipher : `${cipher} + ${mac}`,
    keys,
    sealer: () => createSealer(keys),
    opener: () => createOpener(keys),
  };
}

const SUITES: Suite[] = [
  { name: 'none', keys: null, sealer: createNoneSealer, opener: createNoneOpener },
  ...['aes128-ctr', 'aes192-ctr', 'aes256-ctr'].flatMap((cipher) => [...MACS.keys()].map((mac) => suite(cipher, mac))),
  suite('aes128-gcm@openssh.com', ''),
  suite('aes256-gcm@openssh.com', ''),
  suite('chacha20-poly1305@openssh.com', ''),
];

const SIZES = [0, 1, 15, 16, 17, 32768, 35000];
/** What the transport would refuse anyway: larger than any packet it accepts. */
const TRANSPORT_LIMIT = 256 * 1024;

/**
 * Receives one packet as the transport would, from a buffer holding at least that packet. Openers may decrypt
 * in place (native-aead.ts), so they get a copy: the tests open the same wire bytes more than once.
 */
function receive(opener: PacketOpener, sequence: number, wire: Buffer): Buffer {
  const length = opener.packetLength(sequence, wire.subarray(0, opener.headerLength));
  const total = 4 + length + opener.macLength;
  assert.ok(total <= wire.length, 'packet_length points past the data');
  return opener.open(sequence, Buffer.from(wire.subarray(0, total)));
}

/** The failures an opener may report for corrupted input. */
const rejected = (error: unknown): boolean => error instanceof MacError || error instanceof DecodeError;

describe('packet protection', () => {
  it('covers every registered cipher and MAC, and the defaults are all registered', () => {
    assert.deepEqual([...CIPHERS.keys()].sort(), [...DEFAULT_CIPHERS].sort());
    assert.deepEqual([...MACS.keys()].sort(), [...DEFAULT_MACS].sort());
    assert.equal(DEFAULT_CIPHERS[0], 'chacha20-poly1305@openssh.com');
    assert.equal(DEFAULT_MACS[0], 'hmac-sha2-256-etm@openssh.com');
  });

  it('writes data packets one by one under every cipher but chacha20-poly1305 (issue 17)', () => {
    const batched = [...CIPHERS.values()].filter((info) => !info.eagerDataWrites).map((info) => info.name);
    assert.deepEqual(batched, ['chacha20-poly1305@openssh.com']);
  });

  for (const s of SUITES) {
    describe(s.name, () => {
      it('round-trips every payload size over consecutive sequence numbers, across the uint32 wrap', () => {
        const sealer = s.sealer();
        const opener = s.opener();
        let sequence = 0xfffffff0;
        for (let round = 0; round < 3; round++) {
          for (const size of SIZES) {
            const payload = randomBytes(size);
            const wire = sealer.seal(sequence, payload);
            const length = opener.packetLength(sequence, wire.subarray(0, opener.headerLength));
            assert.equal(wire.length, 4 + length + opener.macLength, 'one packet, exactly');
            const opened = opener.open(sequence, wire);
            assert.deepEqual(opened, payload, `size ${size} at sequence ${sequence}`);
            sequence = (sequence + 1) >>> 0;
          }
        }
      });

      it('pads with at least 4 bytes and aligns to the block size', () => {
        const blockSize = s.keys === null ? 8 : Math.max(8, CIPHERS.get(s.keys.cipher)!.blockSize);
        const lengthInClear =
          s.keys !== null && (CIPHERS.get(s.keys.cipher)!.aead || MACS.get(s.keys.mac)!.encryptThenMac);
        const sealer = s.sealer();
        const opener = s.opener();
        for (let size = 0; size < 40; size++) {
          const wire = sealer.seal(size, Buffer.alloc(size));
          const length = opener.packetLength(size, wire.subarray(0, opener.headerLength));
          assert.equal((lengthInClear ? length : 4 + length) % blockSize, 0, `size ${size}`);
          const padding = length - 1 - size;
          assert.ok(padding >= 4 && padding < 4 + blockSize, `padding ${padding} for size ${size}`);
          opener.open(size, wire);
        }
      });

      if (s.keys === null) return;
      const keys = s.keys;

      it('rejects a flipped bit anywhere in the packet (length, body, MAC)', () => {
        const sealer = s.sealer();
        const first = sealer.seal(41, randomBytes(17));
        const second = sealer.seal(42, randomBytes(100));
        for (let byte = 0; byte < second.length; byte++) {
          const opener = s.opener();
          assert.ok(receive(opener, 41, first).length === 17);
          const tampered = Buffer.from(second);
          tampered[byte]! ^= 1 << (byte % 8);
          assert.throws(() => {
            const length = opener.packetLength(42, tampered.subarray(0, opener.headerLength));
            const total = 4 + length + opener.macLength;
            // A length pointing beyond the data: the transport would wait for bytes that complete a
            // packet whose MAC still covers the corrupted length. Give it those bytes.
            if (total > TRANSPORT_LIMIT) throw new DecodeError('over the transport limit');
            const packet = total <= tampered.length ? tampered.subarray(0, total) : Buffer.concat([tampered, Buffer.alloc(total - tampered.length)]);
            opener.open(42, packet);
          }, rejected, `byte ${byte}`);
        }
      });

      if (!keys.cipher.includes('gcm')) {
        it('rejects a packet opened under the wrong sequence number', () => {
          const wire = s.sealer().seal(1000, randomBytes(64));
          const opener = s.opener();
          assert.throws(() => {
            const length = opener.packetLength(1001, wire.subarray(0, opener.headerLength));
            if (4 + length + opener.macLength !== wire.length) throw new DecodeError('length changed');
            opener.open(1001, wire);
          }, rejected);
        });
      }

      it('rejects the packet after a lost one (the receiver is still at the lost sequence number)', () => {
        const sealer = s.sealer();
        sealer.seal(0, randomBytes(64));
        const second = sealer.seal(1, randomBytes(64));
        const opener = s.opener();
        assert.throws(() => {
          const length = opener.packetLength(0, second.subarray(0, opener.headerLength));
          if (4 + length + opener.macLength !== second.length) throw new DecodeError('length changed');
          opener.open(0, second);
        }, rejected);
      });
    });
  }

  it('none: rejects misaligned or short lengths and bad padding_length', () => {
    const opener = createNoneOpener();
    const header = (length: number): Buffer => {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(length);
      return bytes;
    };
    assert.throws(() => opener.packetLength(0, header(13)), DecodeError); // 4 + 13 not a multiple of 8
    assert.throws(() => opener.packetLength(0, header(4)), DecodeError); // too short
    assert.equal(opener.packetLength(0, header(12)), 12);
    const packet = (padding: number): Buffer => Buffer.concat([header(12), Buffer.from([padding]), Buffer.alloc(11)]);
    assert.deepEqual(opener.open(0, packet(4)), Buffer.alloc(7));
    assert.deepEqual(opener.open(0, packet(11)), Buffer.alloc(0));
    assert.throws(() => opener.open(0, packet(3)), DecodeError);
    assert.throws(() => opener.open(0, packet(12)), DecodeError);
    assert.throws(() => opener.open(0, packet(255)), DecodeError);
  });
});

describe('wire format, checked with node:crypto directly', () => {
  it('aes-ctr + hmac (RFC 4253 §6.4): MAC over seq || plaintext packet, everything encrypted, CTR continuing', () => {
    const s = suite('aes256-ctr', 'hmac-sha2-512');
    const keys = s.keys!;
    const sealer = s.sealer();
    const decipher = createDecipheriv('aes-256-ctr', keys.encryptionKey, keys.iv);
    for (const [sequence, payload] of [[7, randomBytes(30)], [8, randomBytes(1000)]] as const) {
      const wire = sealer.seal(sequence, payload);
      const plain = decipher.update(wire.subarray(0, wire.length - 64));
      const length = plain.readUInt32BE(0);
      assert.equal(plain.length, 4 + length);
      assert.equal(plain.length % 16, 0);
      const sequenceBytes = Buffer.alloc(4);
      sequenceBytes.writeUInt32BE(sequence);
      const mac = createHmac('sha512', keys.integrityKey).update(sequenceBytes).update(plain).digest();
      assert.deepEqual(wire.subarray(wire.length - 64), mac);
      assert.deepEqual(plain.subarray(5, 5 + payload.length), payload);
      assert.equal(plain[4], length - 1 - payload.length);
    }
  });

  it('aes-ctr + etm (OpenSSH PROTOCOL §1.5): length in clear, MAC over seq || length || ciphertext', () => {
    const s = suite('aes128-ctr', 'hmac-sha2-256-etm@openssh.com');
    const keys = s.keys!;
    const sealer = s.sealer();
    const decipher = createDecipheriv('aes-128-ctr', keys.encryptionKey, keys.iv);
    for (const [sequence, payload] of [[0, randomBytes(5)], [1, randomBytes(333)]] as const) {
      const wire = sealer.seal(sequence, payload);
      const length = wire.readUInt32BE(0);
      assert.equal(length % 16, 0);
      assert.equal(wire.length, 4 + length + 32);
      const sequenceBytes = Buffer.alloc(4);
      sequenceBytes.writeUInt32BE(sequence);
      const mac = createHmac('sha256', keys.integrityKey).update(sequenceBytes).update(wire.subarray(0, 4 + length)).digest();
      assert.deepEqual(wire.subarray(4 + length), mac);
      const plain = decipher.update(wire.subarray(4, 4 + length));
      assert.deepEqual(plain.subarray(1, 1 + payload.length), payload);
    }
  });

  it('aes-gcm (RFC 5647 / PROTOCOL §1.6): length as AAD, nonce = fixed || counter incremented per packet', () => {
    const s = suite('aes128-gcm@openssh.com', '');
    const keys = s.keys!;
    keys.iv.writeUInt32BE(0xffffffff, 8); // make the counter increment carry across a byte boundary
    const sealer = s.sealer();
    for (let packet = 0; packet < 3; packet++) {
      const payload = randomBytes(50 + packet);
      const wire = sealer.seal(99, payload);
      const length = wire.readUInt32BE(0);
      assert.equal(length % 16, 0);
      const nonce = Buffer.from(keys.iv);
      nonce.writeBigUInt64BE(nonce.readBigUInt64BE(4) + BigInt(packet), 4);
      const decipher = createDecipheriv('aes-128-gcm', keys.encryptionKey, nonce, { authTagLength: 16 });
      decipher.setAAD(wire.subarray(0, 4));
      decipher.setAuthTag(wire.subarray(4 + length));
      const plain = decipher.update(wire.subarray(4, 4 + length));
      decipher.final();
      assert.deepEqual(plain.subarray(1, 1 + payload.length), payload);
    }
  });

  it('rejects authenticated packets whose padding_length is below 4 or exceeds packet_length (etm, gcm)', () => {
    const plainPacket = (padding: number): Buffer => {
      const packet = Buffer.alloc(4 + 16);
      packet.writeUInt32BE(16, 0);
      packet[4] = padding;
      return packet;
    };
    for (const padding of [3, 16, 200]) {
      const etm = suite('aes128-ctr', 'hmac-sha2-256-etm@openssh.com');
      const etmKeys = etm.keys!;
      const packet = plainPacket(padding);
      createCipheriv('aes-128-ctr', etmKeys.encryptionKey, etmKeys.iv).update(packet.subarray(4)).copy(packet, 4);
      const mac = createHmac('sha256', etmKeys.integrityKey).update(Buffer.alloc(4)).update(packet).digest();
      assert.throws(() => receive(etm.opener(), 0, Buffer.concat([packet, mac])), DecodeError, `etm padding ${padding}`);

      const gcm = suite('aes256-gcm@openssh.com', '');
      const gcmKeys = gcm.keys!;
      const gcmPacket = plainPacket(padding);
      const cipher = createCipheriv('aes-256-gcm', gcmKeys.encryptionKey, gcmKeys.iv, { authTagLength: 16 });
      cipher.setAAD(gcmPacket.subarray(0, 4));
      cipher.update(gcmPacket.subarray(4)).copy(gcmPacket, 4);
      cipher.final();
      const sealed = Buffer.concat([gcmPacket, cipher.getAuthTag()]);
      assert.throws(() => receive(gcm.opener(), 0, sealed), DecodeError, `gcm padding ${padding}`);
    }
  });

  it('rejects clear lengths not aligned to the block size before reading any body (etm, gcm, chacha)', () => {
    for (const s of [suite('aes128-ctr', 'hmac-sha2-512-etm@openssh.com'), suite('aes128-gcm@openssh.com', '')]) {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(20);
      assert.throws(() => s.opener().packetLength(0, header), DecodeError, s.name);
    }
  });

  it('refuses unknown algorithms and wrongly sized keys without echoing key material', () => {
    const good = suite('aes128-ctr', 'hmac-sha2-256').keys!;
    assert.throws(() => createSealer({ ...good, cipher: 'aes128-cbc' }), RangeError);
    assert.throws(() => createSealer({ ...good, mac: 'hmac-md5' }), RangeError);
    assert.throws(() => createOpener({ ...good, encryptionKey: Buffer.alloc(15) }), RangeError);
    assert.throws(() => createOpener({ ...good, iv: Buffer.alloc(12) }), RangeError);
    assert.throws(() => createSealer({ ...good, integrityKey: Buffer.alloc(31, 0xab) }), (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.ok(!error.message.includes('abab'));
      return true;
    });
  });
});
