import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDiffieHellmanGroup, createPublicKey } from 'node:crypto';
import { derElement, derInteger, readDerElement, readPublicKeyInfoValue } from '../../../src/wire/der.ts';
import { DecodeError } from '../../../src/wire/errors.ts';
import { decodeDhPublicValue, encodeDhPublicKey } from '../../../src/crypto/kex/dh-spki.ts';

describe('minimal DER for SubjectPublicKeyInfo', () => {
  it('encodes INTEGERs minimally, with a zero byte before a set top bit', () => {
    assert.equal(derInteger(Buffer.of()).toString('hex'), '020100');
    assert.equal(derInteger(Buffer.of(0, 0, 0x7f)).toString('hex'), '02017f');
    assert.equal(derInteger(Buffer.of(0x80)).toString('hex'), '02020080');
  });

  it('uses the long length form from 128 bytes and reads it back', () => {
    const element = derElement(0x04, Buffer.alloc(300, 1));
    assert.equal(element.subarray(0, 4).toString('hex'), '0482012c');
    assert.deepEqual(readDerElement(element, 0), { tag: 0x04, start: 4, end: 304 });
    assert.throws(() => readDerElement(element.subarray(0, 303), 0), DecodeError);
    assert.throws(() => readDerElement(Buffer.of(0x30, 0x85, 1, 1, 1, 1, 1), 0), DecodeError);
    assert.throws(() => readPublicKeyInfoValue(Buffer.of(0x02, 0x01, 0x00)), DecodeError);
  });

  it('builds DH public keys node:crypto accepts, and reads the public value back', () => {
    const group = createDiffieHellmanGroup('modp14');
    const y = group.generateKeys();
    const spki = encodeDhPublicKey(group.getPrime(), group.getGenerator(), y);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    assert.equal(key.asymmetricKeyType, 'dh');
    assert.deepEqual(decodeDhPublicValue(key.export({ format: 'der', type: 'spki' })), y.subarray(y.findIndex((byte) => byte !== 0)));
  });
});
