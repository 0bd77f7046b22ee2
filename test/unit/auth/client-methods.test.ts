/**
 * The client's authentication methods as objects (client-methods/*.ts) and the engine that chooses among them
 * (client-auth.ts), against a scripted server: OpenSSH's order (sshconnect2.c authmethod_get) among what the
 * server lists, names we do not implement passed over, partial success starting a new round of keys, the
 * publickey signature over the RFC 4252 §7 data, NumberOfPasswordPrompts, a password change request,
 * keyboard-interactive prompts and a declined round, banners, and the resume credential in place of "none".
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/wire/reader.ts';
import { Writer } from '../../../src/wire/writer.ts';
import { SSH_MSG } from '../../../src/wire/message-numbers.ts';
import type { Transport } from '../../../src/transport/transport.ts';
import { generatePrivateKey } from '../../../src/keys/index.ts';
import { AuthenticationError, authenticateClient, type AuthKey, type ClientAuthOptions } from '../../../src/auth/client-auth.ts';
import { RESUME_AUTH_METHOD, decodeResumeAuth, proofMatches } from '../../../src/auth/resume-credential.ts';

const SESSION_ID = Buffer.alloc(32, 7);
const USER = 'alice';

interface Request {
  method: string;
  body: Reader;
}

const failure = (methods: string[], partial = false): Buffer => Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_FAILURE).nameList(methods).boolean(partial).finish());
const SUCCESS = Buffer.from([SSH_MSG.USERAUTH_SUCCESS]);

/**
 * A transport whose peer is `serve`: given each USERAUTH_REQUEST (or other message) the client sends, it
 * returns the packets the server answers with. SERVICE_REQUEST is accepted by itself.
 */
function scriptedTransport(serve: (request: Request | Buffer) => Buffer[], extensions: Record<string, string> = {}): { transport: Transport; sent: string[] } {
  const sent: string[] = [];
  const fake = {
    sessionId: SESSION_ID,
    peerExtensions: new Map(Object.entries(extensions).map(([name, value]) => [name, Buffer.from(value)])),
    packetHandler: undefined as ((payload: Buffer) => void) | undefined,
    closed: new Promise<Error | undefined>(() => {}),
    send(payload: Buffer) {
      let answers: Buffer[];
      if (payload[0] === SSH_MSG.SERVICE_REQUEST) {
        answers = [Buffer.from(new Writer().byte(SSH_MSG.SERVICE_ACCEPT).string('ssh-userauth').finish())];
      } else if (payload[0] === SSH_MSG.USERAUTH_REQUEST) {
        const body = new Reader(payload, 1);
        assert.equal(body.text(64), USER);
        assert.equal(body.text(64), 'ssh-connection');
        const method = body.text(64);
        sent.push(method);
        answers = serve({ method, body });
      } else {
        sent.push(`message ${payload[0]}`);
        answers = serve(payload);
      }
      // The answers arrive later, as from a socket.
      setImmediate(() => answers.forEach((answer) => fake.packetHandler!(answer)));
    },
  };
  return { transport: fake as unknown as Transport, sent };
}

async function authenticate(serve: (request: Request | Buffer) => Buffer[], options: Omit<ClientAuthOptions, 'username' | 'debug'>, extensions?: Record<string, string>) {
  const { transport, sent } = scriptedTransport(serve, extensions);
  const debug: string[] = [];
  const result = await authenticateClient(transport, { ...options, username: USER, debug: (line) => debug.push(line) }).then(
    () => 'success',
    (error: Error) => error,
  );
  return { result, sent, debug };
}

const isRequest = (request: Request | Buffer): request is Request => !Buffer.isBuffer(request);

function signingKey(label: string, signed: Buffer[] = []): AuthKey {
  const key = generatePrivateKey('ed25519');
  return {
    label,
    publicKey: key.publicKey,
    sign: async (data, algorithm) => (signed.push(data), key.sign(data, algorithm)),
  };
}

describe('client authentication engine', () => {
  it('follows PreferredAuthentications among what the server lists, passing over names it does not implement', async () => {
    const { result, sent, debug } = await authenticate(
      (request) => (isRequest(request) && request.method === 'password' ? [SUCCESS] : [failure(['publickey', 'password', 'hostbased'])]),
      { methods: ['hostbased', 'gssapi-with-mic', 'password', 'publickey'], password: async () => 'secret' },
    );
    assert.equal(result, 'success');
    assert.deepEqual(sent, ['none', 'password']);
    assert.deepEqual(debug.slice(1), ['Authentications that can continue: publickey,password,hostbased', 'Next authentication method: password', 'Authentication succeeded (password).']);
  });

  it('passes over gssapi-with-mic without a word when GSSAPIAuthentication is off, though it heads the default order', async () => {
    const { result, sent, debug } = await authenticate(
      (request) => (isRequest(request) && request.method === 'password' ? [SUCCESS] : [failure(['gssapi-with-mic', 'password'])]),
      { password: async () => 'secret' },
    );
    assert.equal(result, 'success');
    assert.deepEqual(sent, ['none', 'password']);
    assert.ok(!debug.some((line) => line.includes('gssapi-with-mic') && line.startsWith('Next')), debug.join('\n'));
  });

  it('ends with "Permission denied (…)." naming what the server still lists once nothing is left to try', async () => {
    const { result, sent, debug } = await authenticate(() => [failure(['publickey', 'password'])], { keys: () => [], password: async () => undefined });
    assert.ok(result instanceof AuthenticationError);
    assert.equal(result.message, 'Permission denied (publickey,password).');
    assert.deepEqual(sent, ['none']);
    assert.deepEqual(debug.filter((line) => line.startsWith('Next') || line.startsWith('No more')), [
      'Next authentication method: publickey',
      'Next authentication method: password',
      'No more authentication methods to try.',
    ]);
  });

  it('signs the RFC 4252 §7 data for a key the server accepts, after a refused key, and shows banners', async () => {
    const signed: Buffer[] = [];
    const refused = signingKey('refused', signed);
    const accepted = signingKey('accepted', signed);
    const banners: string[] = [];
    const { result, sent } = await authenticate(
      (request) => {
        if (!isRequest(request) || request.method !== 'publickey') return [Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_BANNER).string('Welcome\n').string('').finish()), failure(['publickey'])];
        const hasSignature = request.body.boolean();
        const algorithm = request.body.text(64);
        const blob = Buffer.from(request.body.string(1024));
        if (!blob.equals(accepted.publicKey.blob)) return [failure(['publickey'])];
        if (!hasSignature) return [Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_PK_OK).string(algorithm).string(blob).finish())];
        const data = new Writer().string(SESSION_ID).byte(SSH_MSG.USERAUTH_REQUEST).string(USER).string('ssh-connection').string('publickey').boolean(true).string(algorithm).string(blob).finish();
        return [accepted.publicKey.verify(Buffer.from(data), Buffer.from(request.body.string(1024))) ? SUCCESS : failure(['publickey'])];
      },
      { keys: () => [refused, accepted], onBanner: (text) => banners.push(text) },
    );
    assert.equal(result, 'success');
    assert.deepEqual(sent, ['none', 'publickey', 'publickey', 'publickey']);
    assert.equal(signed.length, 1, 'only the accepted key signs');
    assert.deepEqual(banners, ['Welcome\n']);
  });

  it('after a partial success, offers the keys again without the accepted one, then the next method', async () => {
    const keys = [signingKey('first'), signingKey('second')];
    const offered: string[] = [];
    let stage = 0;
    const { result, sent } = await authenticate(
      (request) => {
        if (!isRequest(request)) return [];
        if (request.method === 'none') return [failure(['publickey'])];
        if (request.method === 'password') return [SUCCESS];
        const hasSignature = request.body.boolean();
        request.body.text(64);
        const blob = Buffer.from(request.body.string(1024));
        const label = keys.find((k) => k.publicKey.blob.equals(blob))!.label;
        if (!hasSignature) offered.push(label);
        // Step 1 takes the second key; step 2 refuses every key and then allows a password.
        if (stage === 0 && label === 'second') {
          if (!hasSignature) return [Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_PK_OK).string('ssh-ed25519').string(blob).finish())];
          stage = 1;
          return [failure(['publickey', 'password'], true)];
        }
        return [failure(stage === 0 ? ['publickey'] : ['publickey', 'password'])];
      },
      { keys: () => keys, password: async () => 'secret' },
    );
    assert.equal(result, 'success');
    assert.deepEqual(offered, ['first', 'second', 'first']);
    assert.deepEqual(sent.slice(-1), ['password']);
  });

  it('asks for a password at most NumberOfPasswordPrompts times', async () => {
    const attempts: number[] = [];
    const { result, sent, debug } = await authenticate(() => [failure(['password'])], { password: async (attempt) => (attempts.push(attempt), 'wrong'), passwordAttempts: 2 });
    assert.ok(result instanceof AuthenticationError);
    assert.deepEqual(attempts, [0, 1]);
    assert.deepEqual(sent, ['none', 'password', 'password']);
    assert.equal(debug.filter((line) => line === 'Permission denied, please try again.').length, 2);
  });

  it('takes a password change request as a failed attempt that ends the method', async () => {
    const { result, sent } = await authenticate(
      (request) =>
        isRequest(request) && request.method === 'password'
          ? [Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_PASSWD_CHANGEREQ).string('Password expired').string('').finish())]
          : [failure(['password'])],
      { password: async () => 'old' },
    );
    assert.ok(result instanceof AuthenticationError);
    assert.deepEqual(sent, ['none', 'password']);
  });

  it('answers keyboard-interactive prompts, and ends a round the user declines with no responses', async () => {
    const infoRequest = Buffer.from(
      new Writer().byte(SSH_MSG.USERAUTH_INFO_REQUEST).string('Login').string('Say it').string('').uint32(2).string('Password: ').boolean(false).string('Code: ').boolean(true).finish(),
    );
    const seen: string[][] = [];
    let responses: string[] | undefined = ['pw', '123'];
    const answers: string[][] = [];
    const serve = (request: Request | Buffer): Buffer[] => {
      if (isRequest(request)) return request.method === 'keyboard-interactive' ? [infoRequest] : [failure(['keyboard-interactive'])];
      const reader = new Reader(request, 1);
      const count = reader.uint32();
      answers.push(Array.from({ length: count }, () => reader.text(64)));
      return [count === 2 && answers.at(-1)![0] === 'pw' ? SUCCESS : failure(['keyboard-interactive'])];
    };
    const options = { keyboardInteractive: async (name: string, instruction: string, prompts: { prompt: string; echo: boolean }[]) => (seen.push([name, instruction, ...prompts.map((p) => `${p.prompt}${p.echo}`)]), responses) };
    assert.equal((await authenticate(serve, options)).result, 'success');
    assert.deepEqual(seen, [['Login', 'Say it', 'Password: false', 'Code: true']]);
    assert.deepEqual(answers, [['pw', '123']]);

    responses = undefined;
    answers.length = 0;
    const declined = await authenticate(serve, options);
    assert.ok(declined.result instanceof AuthenticationError);
    assert.deepEqual(declined.sent, ['none', 'keyboard-interactive', `message ${SSH_MSG.USERAUTH_INFO_RESPONSE}`], 'a declined round is not asked again');
    assert.deepEqual(answers, [[]]);
  });

  it('sends the resume credential in place of "none", as a proof bound to the connection, and spends the token', async () => {
    const token = Buffer.alloc(32, 9);
    let answered = 0;
    let proofOk = false;
    const { result, sent, debug } = await authenticate(
      (request) => {
        if (!isRequest(request)) return [];
        if (request.method !== RESUME_AUTH_METHOD) return [request.method === 'password' ? SUCCESS : failure(['password'])];
        const { sessionId, proof } = decodeResumeAuth(request.body);
        proofOk = sessionId === 'held-1' && proofMatches(token, proof, SESSION_ID, USER, 'held-1');
        return [failure(['password'])];
      },
      { resume: { sessionId: 'held-1', token, onAnswered: () => answered++ }, password: async () => 'secret' },
    );
    assert.equal(result, 'success');
    assert.ok(proofOk);
    assert.equal(answered, 1);
    assert.deepEqual(sent, [RESUME_AUTH_METHOD, 'password']);
    assert.ok(debug.includes(`${RESUME_AUTH_METHOD} refused; trying the usual methods`));
  });
});
