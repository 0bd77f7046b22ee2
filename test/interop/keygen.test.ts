/**
 * Key formats, signatures, fingerprints and known_hosts against the real OpenSSH ssh-keygen, in temporary
 * directories. Every ssh-keygen run is bounded by a timeout.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Reader, Writer } from '../../src/wire/index.ts';
import {
  appendKnownHost,
  checkHostKey,
  findHost,
  formatKnownHostsLine,
  fingerprint,
  generatePrivateKey,
  hashKnownHostsFile,
  parsePrivateKey,
  parsePublicKeyBlob,
  parsePublicKeyLine,
  randomArt,
  readKnownHostsFile,
  serializePrivateKey,
  type PrivateKey,
  type PublicKey,
} from '../../src/keys/index.ts';
import { keygenMain } from '../../src/cli/keygen.ts';

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const TIMEOUT_MS = 60_000;

function sshKeygen(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(SSH_KEYGEN, args, { input, encoding: 'utf8', timeout: TIMEOUT_MS });
  if (result.error) throw result.error;
  // OpenSSH's log functions end stderr lines with \r\n; compare text, not line discipline.
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.replace(/\r\n/g, '\n') };
}

/** Runs ssh-keygen and insists on success. */
function sshKeygenOk(args: string[], input?: string): string {
  const result = sshKeygen(args, input);
  assert.equal(result.status, 0, `ssh-keygen ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function runKeygen(argv: string[], input = ''): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  stdin.end(input);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const status = await keygenMain(argv, { stdin, stdout, stderr });
  return { status, stdout: out, stderr: err };
}

const KEY_SPECS = [
  { type: 'ed25519', bits: undefined },
  { type: 'ecdsa', bits: 256 },
  { type: 'ecdsa', bits: 384 },
  { type: 'ecdsa', bits: 521 },
  { type: 'rsa', bits: 2048 },
] as const;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('keys we write, OpenSSH reads', () => {
  for (const spec of KEY_SPECS) {
    for (const passphrase of [undefined, 'tether pass']) {
      it(`${spec.type} ${spec.bits ?? ''} ${passphrase ? 'encrypted' : 'clear'}: ssh-keygen -y gives our public line`, () => {
        const key = generatePrivateKey(spec.type, spec.bits, `ours-${spec.type}`);
        const file = join(dir, `ours-${spec.type}-${spec.bits}-${passphrase ? 'enc' : 'clear'}`);
        writeFileSync(file, serializePrivateKey(key, { passphrase }), { mode: 0o600 });
        const printed = sshKeygenOk(['-y', '-f', file, ...(passphrase ? ['-P', passphrase] : [])]);
        assert.equal(printed.trim(), `${key.publicKey.toLine()} ${key.comment}`);
        if (passphrase) {
          const wrong = sshKeygen(['-y', '-f', file, '-P', 'not it']);
          assert.notEqual(wrong.status, 0);
        }
      });
    }
  }

  it('keygenMain writes a 3072-bit RSA pair by default with -t rsa that ssh-keygen accepts', async () => {
    const file = join(dir, 'cli-rsa');
    const result = await runKeygen(['-t', 'rsa', '-N', 'secret', '-C', 'cli comment', '-f', file]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Generating public\/private rsa key pair\.\nYour identification has been saved in /);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(`${file}.pub`).mode & 0o777, 0o644);
    const pub = readFileSync(`${file}.pub`, 'utf8');
    assert.equal(sshKeygenOk(['-y', '-P', 'secret', '-f', file]), pub);
    assert.match(sshKeygenOk(['-l', '-f', `${file}.pub`]), /^3072 SHA256:\S+ cli comment \(RSA\)\n$/);
  });

  it('keygenMain -p re-encrypts a key so that only the new passphrase opens it', async () => {
    const file = join(dir, 'cli-passwd');
    sshKeygenOk(['-q', '-t', 'ed25519', '-N', 'old pass', '-C', 'pw test', '-f', file]);
    const result = await runKeygen(['-p', '-P', 'old pass', '-N', 'new pass', '-f', file]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "Key has comment 'pw test'\nYour identification has been saved with the new passphrase.\n");
    assert.equal(sshKeygenOk(['-y', '-P', 'new pass', '-f', file]), readFileSync(`${file}.pub`, 'utf8'));
    assert.notEqual(sshKeygen(['-y', '-P', 'old pass', '-f', file]).status, 0);
  });

  it('keygenMain asks for the passphrase twice on stdin when -N is absent', async () => {
    const file = join(dir, 'cli-prompted');
    const result = await runKeygen(['-q', '-t', 'ecdsa', '-b', '384', '-f', file], 'one\ntwo\nprompted\nprompted\n');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /Passphrases do not match\. {2}Try again\./);
    assert.equal(sshKeygenOk(['-y', '-P', 'prompted', '-f', file]), readFileSync(`${file}.pub`, 'utf8'));
  });

  it('keygenMain asks before overwriting and keeps the file on "n"', async () => {
    const file = join(dir, 'cli-existing');
    writeFileSync(file, 'keep me');
    const result = await runKeygen(['-t', 'ed25519', '-N', '', '-f', file], 'n\n');
    assert.equal(result.status, 1);
    assert.match(result.stdout, /already exists\.\nOverwrite \(y\/n\)\? $/);
    assert.equal(readFileSync(file, 'utf8'), 'keep me');
  });
});

describe('keys OpenSSH writes, we read', () => {
  const cases: { name: string; args: string[]; passphrase?: string }[] = [];
  for (const spec of KEY_SPECS) {
    const bits = spec.bits ? ['-b', String(spec.bits)] : [];
    cases.push({ name: `${spec.type}${spec.bits ?? ''}`, args: ['-t', spec.type, ...bits] });
    cases.push({ name: `${spec.type}${spec.bits ?? ''}-enc`, args: ['-t', spec.type, ...bits], passphrase: 'their pass' });
  }
  for (const format of ['PEM', 'PKCS8']) {
    for (const type of ['rsa', 'ecdsa']) {
      cases.push({ name: `${type}-${format}`, args: ['-t', type, '-m', format] });
      cases.push({ name: `${type}-${format}-enc`, args: ['-t', type, '-m', format], passphrase: 'their pass' });
    }
  }

  for (const testCase of cases) {
    it(`${testCase.name}: parsed, same public key, signs verifiably`, () => {
      const file = join(dir, `theirs-${testCase.name}`);
      sshKeygenOk(['-q', ...testCase.args, '-N', testCase.passphrase ?? '', '-C', 'their comment', '-f', file]);
      const data = readFileSync(file);
      const key = parsePrivateKey(data, testCase.passphrase);
      const { key: expected, comment } = parsePublicKeyLine(readFileSync(`${file}.pub`, 'utf8'));
      assert.ok(key.publicKey.equals(expected));
      // PEM formats have no room for a comment; openssh-key-v1 keeps it.
      if (data.includes('OPENSSH PRIVATE KEY')) assert.equal(key.comment, comment);
      const message = Buffer.from('interop');
      assert.ok(expected.verify(message, key.sign(message)));
      if (testCase.passphrase) assert.throws(() => parsePrivateKey(data, 'wrong pass'), { name: 'WrongPassphraseError' });
    });
  }
});

// PROTOCOL.sshsig: what ssh-keygen -Y signs is "SSHSIG" || string namespace || string reserved ||
// string hash_algorithm || string H(message); the signature file wraps our SSH signature with the key.
const SSHSIG_MAGIC = Buffer.from('SSHSIG');

function sshsigSignedData(namespace: string, message: Buffer): Buffer {
  const digest = createHash('sha512').update(message).digest();
  const body = new Writer().string(namespace).string('').string('sha512').string(digest).finish();
  return Buffer.concat([SSHSIG_MAGIC, body]);
}

function sshsigArmor(key: PrivateKey, namespace: string, message: Buffer): string {
  const algorithm = key.publicKey.type === 'ssh-rsa' ? 'rsa-sha2-512' : undefined;
  const signature = key.sign(sshsigSignedData(namespace, message), algorithm);
  const blob = new Writer()
    .raw(SSHSIG_MAGIC)
    .uint32(1)
    .string(key.publicKey.blob)
    .string(namespace)
    .string('')
    .string('sha512')
    .string(signature)
    .finish();
  const base64 = blob.toString('base64').replace(/(.{70})/g, '$1\n');
  return `-----BEGIN SSH SIGNATURE-----\n${base64}\n-----END SSH SIGNATURE-----\n`;
}

function sshsigParse(text: string): { key: PublicKey; namespace: string; signature: Buffer } {
  const base64 = text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const reader = new Reader(Buffer.from(base64, 'base64'));
  assert.deepEqual(reader.raw(6), SSHSIG_MAGIC);
  assert.equal(reader.uint32(), 1);
  const key = parsePublicKeyBlob(Buffer.from(reader.string()));
  const namespace = reader.text();
  reader.string();
  assert.equal(reader.text(), 'sha512');
  return { key, namespace, signature: Buffer.from(reader.string()) };
}

describe('signatures against ssh-keygen -Y (PROTOCOL.sshsig)', () => {
  const message = Buffer.from('a message worth signing\n');
  for (const spec of KEY_SPECS) {
    it(`${spec.type} ${spec.bits ?? ''}: ssh-keygen -Y verify accepts ours, we accept ssh-keygen -Y sign's`, () => {
      const key = generatePrivateKey(spec.type, spec.bits, 'signer');
      const signers = join(dir, `signers-${spec.type}-${spec.bits}`);
      writeFileSync(signers, `signer@test ${key.publicKey.toLine()}\n`);
      const signatureFile = join(dir, `ours-${spec.type}-${spec.bits}.sig`);
      writeFileSync(signatureFile, sshsigArmor(key, 'file', message));
      const verify = (sig: string) =>
        sshKeygen(['-Y', 'verify', '-f', signers, '-I', 'signer@test', '-n', 'file', '-s', sig], message.toString());
      const accepted = verify(signatureFile);
      assert.equal(accepted.status, 0, accepted.stderr);
      assert.match(accepted.stdout, /Good "file" signature for signer@test/);
      // A signature over other data must be refused: the check is real.
      writeFileSync(signatureFile, sshsigArmor(key, 'file', Buffer.from('something else')));
      assert.notEqual(verify(signatureFile).status, 0);

      const keyFile = join(dir, `sshsig-${spec.type}-${spec.bits}`);
      writeFileSync(keyFile, serializePrivateKey(key), { mode: 0o600 });
      const messageFile = join(dir, `message-${spec.type}-${spec.bits}`);
      writeFileSync(messageFile, message);
      sshKeygenOk(['-Y', 'sign', '-f', keyFile, '-n', 'file', messageFile]);
      const theirs = sshsigParse(readFileSync(`${messageFile}.sig`, 'utf8'));
      assert.ok(theirs.key.equals(key.publicKey));
      assert.equal(theirs.namespace, 'file');
      assert.ok(key.publicKey.verify(sshsigSignedData('file', message), theirs.signature));
      assert.equal(key.publicKey.verify(sshsigSignedData('file', Buffer.from('x')), theirs.signature), false);
    });
  }
});

describe('fingerprints and randomart equal ssh-keygen -l', () => {
  let files: string[];
  before(() => {
    files = [];
    for (const spec of KEY_SPECS) {
      const file = join(dir, `fp-${spec.type}-${spec.bits}`);
      sshKeygenOk(['-q', '-t', spec.type, ...(spec.bits ? ['-b', String(spec.bits)] : []), '-N', '', '-C', `fp ${spec.type}`, '-f', file]);
      files.push(file, `${file}.pub`);
    }
    // A private key whose .pub is gone, an encrypted one likewise, and list files.
    const lonely = join(dir, 'fp-lonely');
    sshKeygenOk(['-q', '-t', 'ed25519', '-N', '', '-C', 'lonely', '-f', lonely]);
    rmSync(`${lonely}.pub`);
    const lonelyEncrypted = join(dir, 'fp-lonely-enc');
    sshKeygenOk(['-q', '-t', 'ecdsa', '-N', 'pass word', '-f', lonelyEncrypted]);
    rmSync(`${lonelyEncrypted}.pub`);
    const pubs = files.filter((file) => file.endsWith('.pub')).map((file) => readFileSync(file, 'utf8').trim());
    const authorizedKeys = join(dir, 'fp-authorized_keys');
    writeFileSync(authorizedKeys, `# keys\n\n${pubs[0]}\ncommand="echo hi",no-pty ${pubs[1]}\n${pubs[4]}\n`);
    const knownHosts = join(dir, 'fp-known_hosts');
    const [t0, b0] = pubs[0]!.split(' ');
    const [t1, b1] = pubs[2]!.split(' ');
    writeFileSync(knownHosts, `alpha,beta ${t0} ${b0}\n[gamma]:2222 ${t1} ${b1}\n@revoked delta ${t0} ${b0}\n`);
    files.push(lonely, lonelyEncrypted, authorizedKeys, knownHosts);
  });

  for (const flags of [['-l'], ['-l', '-E', 'md5'], ['-l', '-v'], ['-l', '-v', '-E', 'md5'], ['-l', '-E', 'sha1']]) {
    it(`${flags.join(' ')} prints exactly what ssh-keygen prints`, async () => {
      for (const file of files) {
        const expected = sshKeygenOk([...flags, '-f', file]);
        const ours = await runKeygen([...flags, '-f', file]);
        assert.equal(ours.status, 0, ours.stderr);
        assert.equal(ours.stdout, expected, `${flags.join(' ')} -f ${file}`);
      }
    });
  }

  it('fingerprint() and randomArt() agree with ssh-keygen -lv for every key type', () => {
    for (const file of files.filter((name) => name.endsWith('.pub'))) {
      const { key } = parsePublicKeyLine(readFileSync(file, 'utf8'));
      const lines = sshKeygenOk(['-lv', '-f', file]).trimEnd().split('\n');
      assert.equal(lines[0]!.split(' ')[1], fingerprint(key.blob, 'sha256'));
      assert.equal(lines.slice(1).join('\n'), randomArt(key, 'sha256'));
    }
  });
});

describe('known_hosts against ssh-keygen -F / -H / -R', () => {
  const ed = generatePrivateKey('ed25519').publicKey;
  const ec = generatePrivateKey('ecdsa', 384).publicKey;

  it('ssh-keygen -F finds hosts in lines we hashed', () => {
    const file = join(dir, 'kh-ours');
    appendKnownHost(file, 'alpha.test', 22, ed, { hash: true });
    appendKnownHost(file, 'beta.test', 2222, ec, { hash: true });
    writeFileSync(file, readFileSync(file, 'utf8') + formatKnownHostsLine('gamma.test', 22, ec, { hash: true }) + '\n');
    const lines = readFileSync(file, 'utf8').split('\n');
    const alpha = sshKeygenOk(['-F', 'alpha.test', '-f', file]);
    assert.equal(alpha, `# Host alpha.test found: line 1 \n${lines[0]}\n`);
    assert.match(sshKeygenOk(['-F', '[beta.test]:2222', '-f', file]), /found: line 2 /);
    assert.match(sshKeygenOk(['-F', 'gamma.test', '-f', file]), /found: line 3 /);
    assert.equal(sshKeygen(['-F', 'beta.test', '-f', file]).status, 1);
  });

  it('ssh-keygen -F finds hosts after our hashKnownHostsFile, and we find them after ssh-keygen -H', () => {
    const ours = join(dir, 'kh-hash-ours');
    const theirs = join(dir, 'kh-hash-theirs');
    const plain = `alpha.test,192.0.2.7 ${ed.toLine()}\n[beta.test]:2222 ${ec.toLine()}\n`;
    writeFileSync(ours, plain);
    writeFileSync(theirs, plain);
    hashKnownHostsFile(ours);
    sshKeygenOk(['-H', '-f', theirs]);
    assert.doesNotMatch(readFileSync(ours, 'utf8'), /alpha|beta/);
    assert.equal(readFileSync(`${ours}.old`, 'utf8'), plain);
    for (const host of ['alpha.test', '192.0.2.7', '[beta.test]:2222']) {
      assert.match(sshKeygenOk(['-F', host, '-f', ours]), /# Host .* found: line \d/);
      assert.equal(findHost(theirs, host).length, 1, host);
    }
    const entries = readKnownHostsFile(theirs);
    assert.equal(checkHostKey(entries, ['alpha.test'], 22, ed).status, 'known');
    assert.equal(checkHostKey(entries, ['beta.test'], 2222, ec).status, 'known');
    assert.equal(checkHostKey(entries, ['beta.test'], 2222, ed).status, 'changed');
  });

  it('keygenMain -F and -R print and rewrite like ssh-keygen', async () => {
    const content = `alpha,beta ${ed.toLine()}\n# note\n[gamma]:2222 ${ec.toLine()}\n@revoked alpha ${ec.toLine()}\n`;
    for (const host of ['alpha', '[gamma]:2222', 'nobody']) {
      const theirs = join(dir, 'kh-r-theirs');
      const ours = join(dir, 'kh-r-ours');
      writeFileSync(theirs, content);
      writeFileSync(ours, content);
      const expectedFind = sshKeygen(['-F', host, '-f', theirs]);
      const find = await runKeygen(['-F', host, '-f', ours]);
      assert.equal(find.status, expectedFind.status);
      assert.equal(find.stdout, expectedFind.stdout);
      const expectedRemove = sshKeygen(['-R', host, '-f', theirs]);
      const remove = await runKeygen(['-R', host, '-f', ours]);
      assert.equal(remove.status, expectedRemove.status);
      assert.equal(remove.stdout.replaceAll(ours, 'FILE'), expectedRemove.stdout.replaceAll(theirs, 'FILE'));
      assert.equal(remove.stderr.replaceAll(ours, 'FILE'), expectedRemove.stderr.replaceAll(theirs, 'FILE'));
      assert.equal(readFileSync(ours, 'utf8'), readFileSync(theirs, 'utf8'));
    }
  });

  it('keygenMain -H output matches ssh-keygen -H', async () => {
    const theirs = join(dir, 'kh-h-theirs');
    const ours = join(dir, 'kh-h-ours');
    const content = `alpha,beta ${ed.toLine()}\n`;
    writeFileSync(theirs, content);
    writeFileSync(ours, content);
    const expected = sshKeygen(['-H', '-f', theirs]);
    const result = await runKeygen(['-H', '-f', ours]);
    assert.equal(result.status, expected.status);
    assert.equal(result.stdout.replaceAll(ours, 'FILE'), expected.stdout.replaceAll(theirs, 'FILE'));
    assert.equal(result.stderr.replaceAll(ours, 'FILE'), expected.stderr.replaceAll(theirs, 'FILE'));
    assert.equal(readFileSync(ours, 'utf8').split('\n').length, readFileSync(theirs, 'utf8').split('\n').length);
  });
});

describe('keygenMain errors: one line and a non-zero status', () => {
  it('wrong passphrase, worded like ssh-keygen', async () => {
    const file = join(dir, 'err-wrong');
    sshKeygenOk(['-q', '-t', 'ed25519', '-N', 'right pass', '-f', file]);
    const expected = sshKeygen(['-y', '-P', 'wrong pass', '-f', file]);
    const result = await runKeygen(['-y', '-P', 'wrong pass', '-f', file]);
    assert.equal(result.stderr, `Load key "${file}": incorrect passphrase supplied to decrypt private key\n`);
    assert.equal(result.stderr, expected.stderr);
    assert.equal(result.status, 255);
    assert.equal(result.stdout, '');
  });

  it('truncated key file', async () => {
    const source = join(dir, 'err-source');
    sshKeygenOk(['-q', '-t', 'ed25519', '-N', '', '-f', source]);
    const file = join(dir, 'err-truncated');
    writeFileSync(file, readFileSync(source, 'utf8').slice(0, 200), { mode: 0o600 });
    const result = await runKeygen(['-y', '-f', file]);
    assert.equal(result.stderr, `Load key "${file}": invalid format\n`);
    assert.equal(result.status, 255);
  });

  it('key of an unknown type', async () => {
    const section = new Writer().uint32(9).uint32(9).string('ssh-unknown').string(Buffer.alloc(32)).string('c');
    const body = new Writer()
      .raw(Buffer.from('openssh-key-v1\0', 'latin1'))
      .string('none')
      .string('none')
      .string('')
      .uint32(1)
      .string(new Writer().string('ssh-unknown').string(Buffer.alloc(32)).finish())
      .string(section.finish())
      .finish();
    const file = join(dir, 'err-unknown');
    writeFileSync(file, `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`);
    chmodSync(file, 0o600);
    const result = await runKeygen(['-y', '-f', file]);
    assert.equal(result.stderr, `Load key "${file}": unknown or unsupported key type\n`);
    assert.equal(result.status, 255);
  });

  it('unprotected private key file: OpenSSH warning, then the load error', async () => {
    const file = join(dir, 'err-perms');
    sshKeygenOk(['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    chmodSync(file, 0o644);
    const expected = sshKeygen(['-y', '-f', file]);
    const result = await runKeygen(['-y', '-f', file]);
    assert.equal(result.stderr, expected.stderr);
    assert.equal(result.status, 255);
  });
});
