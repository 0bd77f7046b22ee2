/**
 * Our client against our server in one process, over 127.0.0.1: authentication lists with partial success,
 * keyboard-interactive, and a session whose program is a fake SessionProcess (the interface a session
 * holder will implement), showing the SSH side never depends on a real process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connect } from '../../../src/client/client.ts';
import { parseSshdConfigText } from '../../../src/config/sshd/index.ts';
import { generatePrivateKey, type PrivateKey } from '../../../src/keys/index.ts';
import { createServer, silentLogger, type ProcessExit, type Server, type SessionProcess, type SessionProgram } from '../../../src/server/index.ts';
import type { AuthKey } from '../../../src/auth/client-auth.ts';
import { currentAccount } from '../../../src/server/accounts.ts';
import { connectWithKey } from '../../helpers/library-client.ts';

/** A program that echoes its input and exits 7 at end of input. */
function echoProcess(program: SessionProgram, started: SessionProgram[]): SessionProcess {
  started.push(program);
  const pipe = new PassThrough();
  const exit = new Promise<ProcessExit>((resolve) => pipe.on('end', () => resolve({ code: 7, signal: null, coreDumped: false })));
  return {
    pid: 0,
    terminal: false,
    ttyName: undefined,
    input: pipe,
    output: pipe,
    errorOutput: null,
    exit,
    resize: () => {},
    signal: () => false,
    hangUp: () => pipe.end(),
  };
}

describe('client and server in one process', () => {
  let server: Server;
  let dir: string;
  let userKey: PrivateKey;
  let user: string;
  const started: SessionProgram[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tether-inproc-'));
    userKey = generatePrivateKey('ed25519');
    writeFileSync(join(dir, 'authorized_keys'), `${userKey.publicKey.toLine()} test\n`);
    user = (await currentAccount()).name;
    const config = parseSshdConfigText(
      [
        'PermitRootLogin yes',
        'StrictModes no',
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'AuthenticationMethods publickey,keyboard-interactive',
        '',
      ].join('\n'),
      'in-process',
    );
    server = createServer({
      config,
      hostKeys: [generatePrivateKey('ed25519')],
      logger: silentLogger,
      passwords: { verify: async (name, password) => name === user && password === 'sesame' },
      listen: [{ address: '127.0.0.1', port: 0 }],
      switchUser: false,
      startProcess: (program) => echoProcess(program, started),
    });
    await server.listen();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const keySource = (): AuthKey[] => [
    { publicKey: userKey.publicKey, label: 'test key', sign: async (data, algorithm) => userKey.sign(data, algorithm) },
  ];

  it('needs both methods of the AuthenticationMethods list, then runs a session on the SessionProcess', async () => {
    const prompts: string[] = [];
    const client = await connect({
      host: '127.0.0.1',
      port: server.addresses[0]!.port,
      username: user,
      verifyHostKey: () => {},
      auth: {
        keys: keySource,
        keyboardInteractive: async (_name, _instruction, questions) => {
          prompts.push(...questions.map((q) => q.prompt));
          return ['sesame'];
        },
      },
    });
    try {
      assert.deepEqual(prompts, ['Password: ']);
      const session = await client.exec('some command');
      session.channel.end(Buffer.from('echo me'));
      const chunks: Buffer[] = [];
      for await (const chunk of session.stdout) chunks.push(chunk as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'echo me');
      assert.deepEqual(await session.exit, { code: 7 });
      const program = started.at(-1)!;
      assert.deepEqual(program.args, ['-c', 'some command']);
      assert.equal(program.env.USER, user);
      assert.match(program.env.SSH_CONNECTION!, /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+$/);
    } finally {
      client.end();
    }
  });

  it('a wrong keyboard-interactive answer after the key is not enough', async () => {
    await assert.rejects(
      connect({
        host: '127.0.0.1',
        port: server.addresses[0]!.port,
        username: user,
        verifyHostKey: () => {},
        auth: { keys: keySource, keyboardInteractive: async () => ['wrong'], passwordAttempts: 1 },
      }),
      /Permission denied \(keyboard-interactive\)/,
    );
  });
});

describe('real programs through our client (signal and window-change requests)', () => {
  let server: Server;
  let user: string;
  let userKey: PrivateKey;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tether-inproc-'));
    userKey = generatePrivateKey('ed25519');
    writeFileSync(join(dir, 'authorized_keys'), `${userKey.publicKey.toLine()}\n`);
    user = (await currentAccount()).name;
    const config = parseSshdConfigText(`PermitRootLogin yes\nStrictModes no\nAuthorizedKeysFile ${join(dir, 'authorized_keys')}\n`, 'in-process');
    server = createServer({ config, hostKeys: [generatePrivateKey('ed25519')], logger: silentLogger, listen: [{ address: '127.0.0.1', port: 0 }], switchUser: false });
    await server.listen();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const login = () => connectWithKey(server.addresses[0]!.port, user, userKey);

  it('a signal request reaches the program and comes back as exit-signal', async () => {
    const client = await login();
    try {
      const session = await client.exec('echo ready; exec sleep 30');
      const first = await new Promise<Buffer>((resolve) => session.stdout.once('data', resolve));
      assert.equal(first.toString(), 'ready\n');
      session.signal('USR1');
      session.stdout.resume();
      assert.deepEqual(await session.exit, { signal: 'USR1', coreDumped: false, errorMessage: '' });
    } finally {
      client.end();
    }
  });

  it('window-change resizes the pseudo-terminal', async () => {
    const client = await login();
    try {
      const session = await client.exec('sleep 0.5; stty size', { pty: { columns: 80, rows: 24 } });
      session.windowChange({ columns: 123, rows: 45 });
      const chunks: Buffer[] = [];
      for await (const chunk of session.stdout) chunks.push(chunk as Buffer);
      assert.equal(Buffer.concat(chunks).toString().trim(), '45 123');
      assert.deepEqual(await session.exit, { code: 0 });
    } finally {
      client.end();
    }
  });
});
