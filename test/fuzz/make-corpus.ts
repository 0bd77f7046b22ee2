/**
 * Writes the seed corpus under test/fuzz/corpus/ (checked in; run again only to refresh it):
 *   node test/fuzz/make-corpus.ts
 * Each target's directory holds small valid inputs — messages, keys, files — for the mutators to start from.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeClientMessage, encodeServerMessage } from '../../src/client/mux/protocol.ts';
import { encodeDirectTcpip, encodeForwardedTcpip, encodeTcpipForward, encodeStreamlocalForward } from '../../src/connection/forwarding-messages.ts';
import { DEFAULT_TERMINAL_MODES, encodeEnv, encodePtyRequest, encodeTerminalModes, encodeWindowChange } from '../../src/connection/session-requests.ts';
import { createNoneSealer } from '../../src/crypto/cipher/index.ts';
import { issueCertificate, textOptionData } from '../../src/keys/certificate.ts';
import { encodePrivateKeyFields, generatePrivateKey, serializePrivateKey } from '../../src/keys/index.ts';
import { encodeKexInit } from '../../src/transport/kexinit.ts';
import { Writer } from '../../src/wire/writer.ts';
import { CORPUS_ROOT } from './target.ts';
import { sftpSeeds } from './targets/sftp.ts';

const keys = {
  ed25519: generatePrivateKey('ed25519', undefined, 'fuzz-ed25519'),
  ecdsa256: generatePrivateKey('ecdsa', 256, 'fuzz-ecdsa'),
  ecdsa384: generatePrivateKey('ecdsa', 384),
  ecdsa521: generatePrivateKey('ecdsa', 521),
  rsa: generatePrivateKey('rsa', 2048, 'fuzz-rsa'),
};
const msg = (build: (w: Writer) => Writer) => Buffer.from(build(new Writer()).finish());

function write(target: string, files: Record<string, Buffer | string>): void {
  const dir = join(CORPUS_ROOT, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
}

// ---- keys and certificates ------------------------------------------------------------------------------

write('public-key-blob', Object.fromEntries(Object.entries(keys).map(([name, key]) => [`${name}.bin`, key.publicKey.blob])));
write('public-key-line', Object.fromEntries(Object.entries(keys).map(([name, key]) => [`${name}.pub`, `${key.publicKey.toLine()} ${name}@fuzz\n`])));
const cert = issueCertificate(
  {
    key: keys.ed25519.publicKey,
    serial: 7n,
    keyId: 'fuzz',
    principals: ['alice', 'bob'],
    validAfter: 1n,
    validBefore: 0xffffffffn,
    criticalOptions: [{ name: 'force-command', data: textOptionData('true') }, { name: 'source-address', data: textOptionData('127.0.0.1/32') }],
    extensions: [{ name: 'permit-pty', data: Buffer.alloc(0) }],
  },
  keys.ecdsa256,
);
const rsaCert = issueCertificate({ key: keys.rsa.publicKey, certType: 2, principals: ['host.example'] }, keys.ed25519);
write('certificate', { 'user-ed25519.bin': cert.blob, 'host-rsa.bin': rsaCert.blob });
write('private-key-fields', Object.fromEntries(Object.entries(keys).map(([name, key]) => [`${name}.bin`, encodePrivateKeyFields(key)])));

const pemRsa = keys.rsa.keyObject.export({ format: 'pem', type: 'pkcs1' }) as string;
const pemEc = keys.ecdsa256.keyObject.export({ format: 'pem', type: 'sec1' }) as string;
const pkcs8 = keys.ed25519.keyObject.export({ format: 'pem', type: 'pkcs8' }) as string;
write('private-key', {
  'ed25519.key': serializePrivateKey(keys.ed25519),
  'ecdsa.key': serializePrivateKey(keys.ecdsa256),
  'rsa.key': serializePrivateKey(keys.rsa),
  // Passphrase "fuzz", one bcrypt round so that the decryption path is cheap enough to fuzz.
  'ed25519-encrypted.key': serializePrivateKey(keys.ed25519, { passphrase: 'fuzz', rounds: 1 }),
  'ecdsa-encrypted-gcm.key': serializePrivateKey(keys.ecdsa256, { passphrase: 'fuzz', rounds: 1, cipher: 'aes256-gcm@openssh.com' }),
  'rsa-pkcs1.pem': pemRsa,
  'ecdsa-sec1.pem': pemEc,
  'ed25519-pkcs8.pem': pkcs8,
});

// ---- text files -----------------------------------------------------------------------------------------

const line = (name: keyof typeof keys) => keys[name].publicKey.toLine();
write('known-hosts', {
  'plain.txt': [
    '# comment',
    `host.example,192.0.2.1 ${line('ed25519')}`,
    `[host.example]:2222 ${line('ecdsa256')} comment here`,
    `*.example.org,!bad.example.org ${line('rsa')}`,
    `|1|JfKTdBh7rNbXkVAQCRp4OQoPfmI=|USECr3SWf1JUPsms5AqfD5QfxkM= ${line('ed25519')}`,
    `@revoked * ${line('ecdsa384')}`,
    `@cert-authority *.example.com ${line('ecdsa521')}`,
    `host?.example ssh-unknown AAAA`,
    '',
  ].join('\n'),
});
write('authorized-keys', {
  'options.txt': [
    '# comment',
    line('ed25519'),
    `command="echo hi",no-pty,from="192.0.2.0/24,!192.0.2.1" ${line('ecdsa256')} user@host`,
    `restrict,pty,permitopen="localhost:80",permitlisten="8080",environment="A=b" ${line('rsa')}`,
    `cert-authority,principals="alice,bob",expiry-time="20300101" ${line('ecdsa384')}`,
    `no-agent-forwarding,no-port-forwarding,no-X11-forwarding,no-user-rc,tunnel="1" ${line('ecdsa521')}`,
    '',
  ].join('\n'),
});
write('ssh-config', {
  'hosts.conf': [
    'Host clint gateway*',
    '  HostName clint.example.com',
    '  User clint',
    '  Port 2222',
    '  IdentityFile ~/.ssh/id_%r_%h',
    '  LocalForward 8080 localhost:80',
    '  RemoteForward [::1]:9000 /tmp/socket',
    '  DynamicForward 1080',
    '  ProxyJump jump@bastion:22,other',
    'Match host !*.internal user root,admin',
    '  ServerAliveInterval 30',
    '  SetEnv FOO="bar baz" QUX=1',
    'Host *',
    '  Ciphers +aes128-ctr',
    '  KexAlgorithms -diffie-hellman*',
    '  StrictHostKeyChecking accept-new',
    '  ControlPath ~/.ssh/cm-%C',
    '  RekeyLimit 1G 1h',
    '  ConnectTimeout=10',
    '',
  ].join('\n'),
});
write('sshd-config', {
  'sshd.conf': [
    'Port 22',
    'ListenAddress 127.0.0.1:2222',
    'HostKeyAlgorithms ssh-ed25519,rsa-sha2-512',
    'PermitRootLogin prohibit-password',
    'MaxStartups 10:30:100',
    'PerSourceNetBlockSize 24:48',
    'AuthenticationMethods publickey,password publickey',
    'AuthorizedKeysFile .ssh/authorized_keys %h/.ssh/keys2',
    'AllowUsers alice bob@192.0.2.*',
    'Subsystem sftp internal-sftp -l INFO',
    'ClientAliveInterval 15m',
    'Match User alice Address 192.0.2.0/24,!192.0.2.1',
    '  PasswordAuthentication no',
    '  PermitOpen localhost:80 [::1]:443',
    '  ForceCommand echo "forced"',
    'Match all',
    '  X11Forwarding no',
    '',
  ].join('\n'),
});

// ---- protocol messages ----------------------------------------------------------------------------------

const algorithms = {
  kex: ['curve25519-sha256', 'ecdh-sha2-nistp256', 'diffie-hellman-group-exchange-sha256', 'ext-info-c', 'kex-strict-c-v00@openssh.com'],
  hostKey: ['ssh-ed25519', 'rsa-sha2-512'],
  cipherClientToServer: ['chacha20-poly1305@openssh.com', 'aes128-ctr'],
  cipherServerToClient: ['aes256-gcm@openssh.com'],
  macClientToServer: ['hmac-sha2-256-etm@openssh.com'],
  macServerToClient: ['hmac-sha2-512'],
  compressionClientToServer: ['none', 'zlib@openssh.com'],
  compressionServerToClient: ['none'],
};
const kexinit = encodeKexInit(algorithms);
write('kexinit', { 'client.bin': kexinit });
write('identification', { 'plain.txt': 'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n', 'preamble.txt': 'hello\r\nworld\nSSH-2.0-Tether_0.1\r\n' });

const agentMessages: Record<string, Buffer> = {
  'request-identities.bin': Buffer.from([11]),
  'remove-all.bin': Buffer.from([19]),
  'lock.bin': msg((w) => w.byte(22).string('fuzz')),
  'unlock.bin': msg((w) => w.byte(23).string('fuzz')),
  'query.bin': msg((w) => w.byte(27).string('query')),
  'sign.bin': msg((w) => w.byte(13).string(keys.ed25519.publicKey.blob).string('data').uint32(0)),
  'sign-rsa.bin': msg((w) => w.byte(13).string(keys.rsa.publicKey.blob).string('data').uint32(4)),
  'remove.bin': msg((w) => w.byte(18).string(keys.ed25519.publicKey.blob)),
};
for (const [name, key] of Object.entries(keys)) agentMessages[`add-${name}.bin`] = Buffer.concat([Buffer.from([17]), encodePrivateKeyFields(key)]);
agentMessages['add-constrained.bin'] = Buffer.concat([Buffer.from([25]), encodePrivateKeyFields(keys.ed25519), Buffer.from([1, 0, 0, 0, 60, 2])]);
write('agent', agentMessages);

write('socks', {
  'socks4.bin': Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0x75, 0]),
  'socks4a.bin': Buffer.concat([Buffer.from([4, 1, 0, 80, 0, 0, 0, 1, 0]), Buffer.from('example.com\0')]),
  'socks5-ipv4.bin': Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80]),
  'socks5-domain.bin': Buffer.concat([Buffer.from([5, 2, 0, 2, 5, 1, 0, 3, 11]), Buffer.from('example.com'), Buffer.from([1, 187])]),
  'socks5-ipv6.bin': Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 4]), Buffer.alloc(15), Buffer.from([1, 0, 22])]),
});

const mux: Record<string, Buffer> = {
  'c-hello.bin': encodeClientMessage({ type: 'hello', version: 4 }),
  'c-session.bin': encodeClientMessage({
    type: 'new-session', requestId: 1,
    session: { tty: true, x11: false, agent: true, subsystem: false, escapeChar: 126, term: 'xterm', command: 'ls -l', env: ['A=b', 'LANG=C'] },
  }),
  'c-forward.bin': encodeClientMessage({ type: 'open-forward', requestId: 2, forward: { kind: 1, listenHost: '', listenPort: 8080, connectHost: 'localhost', connectPort: 80 } }),
  'c-stdio.bin': encodeClientMessage({ type: 'stdio-forward', requestId: 3, host: 'example.com', port: 22 }),
  's-alive.bin': encodeServerMessage({ type: 'alive', requestId: 4, pid: 1234 }),
  's-failure.bin': encodeServerMessage({ type: 'failure', requestId: 5, reason: 'no' }),
  's-exit.bin': encodeServerMessage({ type: 'exit-message', sessionId: 1, exitValue: 0 }),
};
// The fuzz target decodes payloads: strip the uint32 length the encoders put in front.
write('mux', Object.fromEntries(Object.entries(mux).map(([name, framed]) => [name, framed.subarray(4)])));

// One selector byte (which decoder) then that decoder's data.
const pty = { term: 'xterm-256color', columns: 80, rows: 24, widthPixels: 0, heightPixels: 0, modes: encodeTerminalModes(DEFAULT_TERMINAL_MODES) };
const withSelector = (selector: number, data: Buffer) => Buffer.concat([Buffer.from([selector]), data]);
write('channel-data', {
  '0-direct-tcpip.bin': withSelector(0, encodeDirectTcpip('localhost', 80, { address: '127.0.0.1', port: 5555 })),
  '1-forwarded-tcpip.bin': withSelector(1, encodeForwardedTcpip({ address: '127.0.0.1', port: 8080 }, { address: '192.0.2.1', port: 4444 })),
  '2-tcpip-forward.bin': withSelector(2, encodeTcpipForward('localhost', 8080)),
  '3-streamlocal.bin': withSelector(3, encodeStreamlocalForward('/tmp/socket')),
  '4-pty-req.bin': withSelector(4, encodePtyRequest(pty)),
  '5-window-change.bin': withSelector(5, encodeWindowChange({ columns: 100, rows: 40, widthPixels: 0, heightPixels: 0 })),
  '6-env.bin': withSelector(6, encodeEnv('LANG', 'C.UTF-8')),
  '7-modes.bin': withSelector(7, encodeTerminalModes(DEFAULT_TERMINAL_MODES)),
});

write('der', Object.fromEntries(Object.entries(keys).map(([name, key]) => [`${name}.der`, createPublicKey(key.keyObject).export({ format: 'der', type: 'spki' })])));

// KRLs from ssh-keygen -k, when it is installed (the corpus is checked in, so this runs only on refresh).
try {
  const dir = mkdtempSync(join(tmpdir(), 'tether-fuzz-'));
  writeFileSync(join(dir, 'keys.pub'), `${line('ed25519')}\n${line('rsa')}\n`);
  writeFileSync(join(dir, 'spec'), 'serial: 1-10\nid: fuzz\nsha256: ' + 'AAAA' + '\n');
  writeFileSync(join(dir, 'ca.pub'), `${line('ecdsa256')}\n`);
  execFileSync('ssh-keygen', ['-q', '-k', '-f', join(dir, 'plain.krl'), join(dir, 'keys.pub')]);
  writeFileSync(join(dir, 'spec'), 'serial: 1-10\nserial: 20\nid: fuzz-id\n');
  execFileSync('ssh-keygen', ['-q', '-k', '-f', join(dir, 'ca.krl'), '-s', join(dir, 'ca.pub'), join(dir, 'spec')]);
  write('krl', { 'plain.krl': readFileSync(join(dir, 'plain.krl')), 'ca.krl': readFileSync(join(dir, 'ca.krl')) });
  rmSync(dir, { recursive: true, force: true });
} catch (error) {
  console.error(`krl seeds not refreshed: ${(error as Error).message}`);
}

// ---- state machines -------------------------------------------------------------------------------------

// The bytes a client sends before key exchange: identification, KEXINIT, an ECDH init (RFC 5656 §4).
const sealer = createNoneSealer();
const client25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
write('server-transport', {
  'kexinit.bin': Buffer.concat([
    Buffer.from('SSH-2.0-Fuzz_1.0\r\n'),
    sealer.seal(0, kexinit),
    sealer.seal(1, msg((w) => w.byte(30).string(client25519))),
  ]),
  'preamble.bin': Buffer.concat([Buffer.from('SSH-2.0-Fuzz_1.0 comment\r\n'), sealer.seal(0, msg((w) => w.byte(2).string('ignore'))), sealer.seal(1, kexinit)]),
});

const user = 'fuzzuser';
write('server-auth', {
  '0-service.bin': msg((w) => w.byte(5).string('ssh-userauth')),
  '1-none.bin': msg((w) => w.byte(50).string(user).string('ssh-connection').string('none')),
  '2-password.bin': msg((w) => w.byte(50).string(user).string('ssh-connection').string('password').boolean(false).string('wrong')),
  '3-password-change.bin': msg((w) => w.byte(50).string(user).string('ssh-connection').string('password').boolean(true).string('a').string('b')),
  '4-publickey-query.bin': msg((w) => w.byte(50).string(user).string('ssh-connection').string('publickey').boolean(false).string('ssh-ed25519').string(keys.ed25519.publicKey.blob)),
  '5-publickey-signed.bin': msg((w) => w.byte(50).string(user).string('ssh-connection').string('publickey').boolean(true).string('ssh-ed25519').string(keys.ed25519.publicKey.blob).string(keys.ed25519.sign(Buffer.from('x')))),
  '6-keyboard-interactive.bin': msg((w) => w.byte(50).string(user).string('ssh-connection').string('keyboard-interactive').string('').string('')),
  '7-info-response.bin': msg((w) => w.byte(61).uint32(1).string('wrong')),
  '8-hostbased.bin': msg((w) => w.byte(50).string(user).string('ssh-connection').string('hostbased').string('ssh-ed25519').string(keys.ed25519.publicKey.blob).string('host').string(user).string('sig')),
  '9-ignore.bin': msg((w) => w.byte(2).string('')),
});

const req = (channel: number, name: string, reply: boolean, data: Buffer = Buffer.alloc(0)) =>
  msg((w) => w.byte(98).uint32(channel).string(name).boolean(reply).raw(data));
write('server-connection', {
  '00-open-session.bin': msg((w) => w.byte(90).string('session').uint32(0).uint32(2 * 1024 * 1024).uint32(32768)),
  '01-pty-req.bin': req(0, 'pty-req', true, encodePtyRequest(pty)),
  '02-env.bin': req(0, 'env', false, encodeEnv('LANG', 'C')),
  '03-exec.bin': req(0, 'exec', true, msg((w) => w.string('echo hi'))),
  '04-shell.bin': req(0, 'shell', true),
  '05-subsystem.bin': req(0, 'subsystem', true, msg((w) => w.string('sftp'))),
  '06-window-change.bin': req(0, 'window-change', false, encodeWindowChange({ columns: 100, rows: 40, widthPixels: 0, heightPixels: 0 })),
  '07-signal.bin': req(0, 'signal', false, msg((w) => w.string('INT'))),
  '08-x11-req.bin': req(0, 'x11-req', true, msg((w) => w.boolean(false).string('MIT-MAGIC-COOKIE-1').string('00112233445566778899aabbccddeeff').uint32(0))),
  '09-agent-req.bin': req(0, 'auth-agent-req@openssh.com', true),
  '10-data.bin': msg((w) => w.byte(94).uint32(0).string('hello\n')),
  '11-extended-data.bin': msg((w) => w.byte(95).uint32(0).uint32(1).string('err')),
  '12-window-adjust.bin': msg((w) => w.byte(93).uint32(0).uint32(65536)),
  '13-eof.bin': msg((w) => w.byte(96).uint32(0)),
  '14-close.bin': msg((w) => w.byte(97).uint32(0)),
  '15-keepalive.bin': msg((w) => w.byte(80).string('keepalive@openssh.com').boolean(true)),
  '16-no-more-sessions.bin': msg((w) => w.byte(80).string('no-more-sessions@openssh.com').boolean(false)),
  '17-tcpip-forward.bin': msg((w) => w.byte(80).string('tcpip-forward').boolean(true).raw(encodeTcpipForward('127.0.0.1', 0))),
  '18-hostkeys-prove.bin': msg((w) => w.byte(80).string('hostkeys-prove-00@openssh.com').boolean(true).string(keys.ed25519.publicKey.blob)),
  '19-direct-tcpip.bin': msg((w) => w.byte(90).string('direct-tcpip').uint32(1).uint32(65536).uint32(32768).raw(encodeDirectTcpip('127.0.0.1', 9, { address: '127.0.0.1', port: 1 }))),
  '20-open-confirmation.bin': msg((w) => w.byte(91).uint32(0).uint32(0).uint32(65536).uint32(32768)),
  '21-channel-success.bin': msg((w) => w.byte(99).uint32(0)),
  '22-request-success.bin': Buffer.from([81]),
  '23-kexinit.bin': kexinit,
  '24-exit-status.bin': req(0, 'exit-status', false, msg((w) => w.uint32(0))),
});
for (const [target, files] of Object.entries(sftpSeeds())) write(target, files);
console.log(`corpus written to ${CORPUS_ROOT}`);
