import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprint, randomArt } from '../../../src/keys/fingerprint.ts';
import { parsePublicKeyLine } from '../../../src/keys/public-key.ts';

// Expected values printed by OpenSSH 9.2 `ssh-keygen -lv [-E md5]` for this key.
const { key } = parsePublicKeyLine('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIb+fhVeBvw8MhVFhoYjlgwxJTAIvTKwe9kqMhtnLCo1');

describe('fingerprints', () => {
  it('formats SHA256 without base64 padding and MD5 as colon hex', () => {
    assert.equal(fingerprint(key.blob), 'SHA256:HYKq/hjZZhU6/CyC/Mda9bnCrgX4H0UFo/jTMhIew4U');
    assert.equal(fingerprint(key.blob, 'md5'), 'MD5:cc:f6:6d:57:fe:88:e2:9b:ec:a2:d4:cf:f1:45:ad:04');
    assert.equal(fingerprint(key.blob, 'sha1'), 'SHA1:sTEHYVtOCNN/REExIjH04qa4la4');
  });

  it('draws the same randomart as ssh-keygen', () => {
    assert.equal(
      randomArt(key),
      [
        '+--[ED25519 256]--+',
        '|      .. o..     |',
        '|    .Eo.. o      |',
        '|     *o....      |',
        '|   .oo=.oo .     |',
        '|   .=+.*So.      |',
        '|.. +.=+ * .      |',
        '|..= *o+o o       |',
        '| ..*.+oo. .      |',
        '|  o++.oo..       |',
        '+----[SHA256]-----+',
      ].join('\n'),
    );
    assert.equal(
      randomArt(key, 'md5'),
      [
        '+--[ED25519 256]--+',
        '|                 |',
        '|                 |',
        '|            E    |',
        '|       o     . . |',
        '|        S     o o|',
        '|       o . . o + |',
        '|      . . o o + .|',
        '|     .  .+.= + ..|',
        '|      .. +Ooo . .|',
        '+------[MD5]------+',
      ].join('\n'),
    );
  });
});
