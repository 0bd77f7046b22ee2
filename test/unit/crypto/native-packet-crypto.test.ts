/**
 * native/packet-crypto against the node:crypto implementations of the same modes (chacha20-poly1305.ts,
 * aes-gcm.ts, which have their own vectors and OpenSSH interop): for the same keys, sequence numbers and
 * padding, both seal the same wire bytes, each opens what the other sealed, and a flipped bit anywhere in a
 * packet is refused. The addon is built by `npm install` (package.json); its absence fails here rather than
 * quietly leaving every connection on the slower path.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CtrHmacOpener, CtrHmacSealer } from '../../../src/crypto/cipher/aes-ctr-hmac.ts';
import { AesGcmOpener, AesGcmSealer } from '../../../src/crypto/cipher/aes-gcm.ts';
import { ChachaPolyOpener, ChachaPolySealer } from '../../../src/crypto/cipher/chacha20-poly1305.ts';
import {
  NativeChachaPolyOpener,
  NativeChachaPolySealer,
  NativeCtrHmacOpener,
  NativeCtrHmacSealer,
  NativeGcmOpener,
  NativeGcmSealer,
  packetCrypto,
} from '../../../src/crypto/cipher/native-packet-crypto.ts';
import { MacError } from '../../../src/crypto/cipher/types.ts';
import type { PacketOpener, PacketSealer } from '../../../src/crypto/cipher/types.ts';

const native = packetCrypto();

interface Pair {
  name: string;
  make(): { jsSealer: PacketSealer; nativeSealer: PacketSealer; jsOpener: PacketOpener; nativeOpener: PacketOpener };
}

const PAIRS: Pair[] = [
  {
    name: 'chacha20-poly1305@openssh.com',
    make() {
      const key = randomBytes(64);
      return {
        jsSealer: new ChachaPolySealer(key), nativeSealer: new NativeChachaPolySealer(native!, key),
        jsOpener: new ChachaPolyOpener(key), nativeOpener: new NativeChachaPolyOpener(native!, key),
      };
    },
  },
  ...[16, 32].map((keyLength) => ({
    name: `aes${keyLength * 8}-gcm@openssh.com`,
    make() {
      const key = randomBytes(keyLength);
      // The last bytes at ff…: the invocation counter carries across bytes within the first few packets.
      const iv = Buffer.concat([randomBytes(4), Buffer.from('00000000fffffffe', 'hex')]);
      return {
        jsSealer: new AesGcmSealer(keyLength, key, iv), nativeSealer: new NativeGcmSealer(native!, key, iv),
        jsOpener: new AesGcmOpener(keyLength, key, iv), nativeOpener: new NativeGcmOpener(native!, key, iv),
      };
    },
  })),
  ...[16, 24, 32].flatMap((keyLength) =>
    ['sha256', 'sha512'].flatMap((digest) =>
      [true, false].map((encryptThenMac) => ({
        name: `aes${keyLength * 8}-ctr + hmac-${digest}${encryptThenMac ? '-etm' : ''}`,
        make() {
          const macLength = digest === 'sha512' ? 64 : 32;
          const keys = {
            algorithm: `aes-${keyLength * 8}-ctr`, encryptionKey: randomBytes(keyLength), iv: randomBytes(16),
            digest, integrityKey: randomBytes(macLength), macLength, encryptThenMac,
          };
          return {
            jsSealer: new CtrHmacSealer(keys), nativeSealer: new NativeCtrHmacSealer(native!, keys),
            jsOpener: new CtrHmacOpener(keys), nativeOpener: new NativeCtrHmacOpener(native!, keys),
          };
        },
      })),
    ),
  ),
];

const SIZES = [1, 7, 16, 100, 511, 512, 513, 4096, 32768, 35000];

/** Padding is random, so the two wire forms differ: each side opening the other's is the comparison. */
function sealBoth(js: PacketSealer, nat: PacketSealer, sequence: number, payload: Buffer): [Buffer, Buffer] {
  return [js.seal(sequence, payload), nat.seal(sequence, payload)];
}

function open(opener: PacketOpener, sequence: number, wire: Buffer): Buffer {
  const packet = Buffer.from(wire); // the native opener decrypts in place
  const length = opener.packetLength(sequence, packet.subarray(0, opener.headerLength));
  assert.equal(4 + length + opener.macLength, packet.length);
  return Buffer.from(opener.open(sequence, packet));
}

describe('native/packet-crypto', () => {
  it('is built and loads', () => {
    assert.ok(native, 'native/packet-crypto/build/Release/packet_crypto.node is missing: npm install builds it');
  });

  for (const pair of PAIRS) {
    it(`${pair.name}: node:crypto opens what the addon seals and the addon what node:crypto seals`, () => {
      const { jsSealer, nativeSealer, jsOpener, nativeOpener } = pair.make();
      let sequence = 0xfffffffd; // across the uint32 wrap
      for (const size of SIZES) {
        const payload = randomBytes(size);
        const [wireJs, wireNative] = sealBoth(jsSealer, nativeSealer, sequence, payload);
        assert.equal(wireNative.length, wireJs.length, `${size}: lengths`);
        assert.deepEqual(open(jsOpener, sequence, wireNative), payload, `${size}: node:crypto opens the native packet`);
        assert.deepEqual(open(nativeOpener, sequence, wireJs), payload, `${size}: native opens the node:crypto packet`);
        sequence = (sequence + 1) >>> 0;
      }
    });

    it(`${pair.name}: a flipped bit in the body or the tag is a MacError, and nothing is returned`, () => {
      const payload = randomBytes(1000);
      const probe = pair.make().nativeSealer.seal(7, payload);
      const macLength = pair.make().nativeOpener.macLength;
      for (const at of [4, 5, 20, 500, probe.length - macLength - 1, probe.length - macLength, probe.length - 1]) {
        const { nativeSealer, nativeOpener } = pair.make();
        const wire = nativeSealer.seal(7, payload);
        wire[at]! ^= 0x01;
        assert.throws(() => open(nativeOpener, 7, wire), MacError, `bit flipped at ${at}`);
      }
    });

    it(`${pair.name}: the wrong sequence number fails (chacha, HMAC) or the nonce stays in step (GCM)`, () => {
      const { nativeSealer, nativeOpener } = pair.make();
      const wire = nativeSealer.seal(41, randomBytes(64));
      if (pair.name.includes('gcm')) assert.equal(open(nativeOpener, 42, wire).length, 64); // RFC 5647 §7.1: the nonce counts packets
      // chacha20-poly1305 decrypts a length from the wrong keystream first, so what fails first varies.
      else if (pair.name.startsWith('chacha')) assert.throws(() => open(nativeOpener, 42, wire));
      else assert.throws(() => open(nativeOpener, 42, wire), MacError);
    });
  }
});
