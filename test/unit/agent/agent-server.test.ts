/**
 * The agent protocol in process: AgentServer and AgentClient paired over in-memory duplex streams, the
 * same way agent forwarding will pair them over SSH channels.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair, type Duplex } from 'node:stream';
import { AgentServer } from '../../../src/agent/agent-server.ts';
import { AgentClient, AgentConnectionClosedError, AgentRequestError } from '../../../src/agent/agent-client.ts';
import { AGENT_MSG, MessageDeframer, MAX_AGENT_MESSAGE, SIGN_FLAG, AgentFramingError, frameMessage } from '../../../src/agent/protocol.ts';
import { generatePrivateKey, encodePrivateKeyFields } from '../../../src/keys/index.ts';
import { Reader, Writer } from '../../../src/wire/index.ts';

function pair(server: AgentServer): { client: AgentClient; raw: Duplex } {
  const [ours, theirs] = duplexPair();
  server.serve(theirs);
  return { client: new AgentClient(ours), raw: ours };
}

/** Sends raw bytes on a stream and resolves with the next answer body (or undefined when the stream closes). */
function rawExchange(stream: Duplex, bytes: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const deframer = new MessageDeframer();
    const onData = (chunk: Buffer) => {
      const messages = deframer.push(chunk);
      if (messages.length > 0) {
        stream.off('data', onData);
        resolve(messages[0]);
      }
    };
    stream.on('data', onData);
    stream.once('close', () => resolve(undefined));
    stream.once('end', () => resolve(undefined));
    stream.write(bytes);
  });
}

const ed25519 = generatePrivateKey('ed25519', undefined, 'ed25519 key');
const ecdsa = generatePrivateKey('ecdsa', 384, 'ecdsa key');
const rsa = generatePrivateKey('rsa', 2048, 'rsa key');

function signatureAlgorithm(signature: Buffer): string {
  return new Reader(signature).text();
}

describe('AgentServer / AgentClient', () => {
  it('adds, lists and signs with each key type; signatures verify', async () => {
    const server = new AgentServer();
    const { client } = pair(server);
    for (const key of [ed25519, ecdsa, rsa]) await client.add(key);
    const listed = await client.list();
    assert.deepEqual(
      listed.map((identity) => identity.comment),
      ['ed25519 key', 'ecdsa key', 'rsa key'],
    );
    for (const key of [ed25519, ecdsa]) {
      const data = Buffer.from(`data for ${key.comment}`);
      const signature = await client.sign(key.publicKey, data);
      assert.ok(key.publicKey.verify(data, signature));
      assert.ok(!key.publicKey.verify(Buffer.from('other data'), signature));
    }
    client.close();
  });

  it('chooses the RSA hash from the flags (rsa-sha2-256, rsa-sha2-512, ssh-rsa without flags)', async () => {
    const server = new AgentServer();
    const { client } = pair(server);
    await client.add(rsa);
    const data = Buffer.from('session data');
    const cases: Array<[number, string]> = [
      [SIGN_FLAG.RSA_SHA2_256, 'rsa-sha2-256'],
      [SIGN_FLAG.RSA_SHA2_512, 'rsa-sha2-512'],
      [0, 'ssh-rsa'],
    ];
    for (const [flags, algorithm] of cases) {
      const signature = await client.sign(rsa.publicKey, data, flags);
      assert.equal(signatureAlgorithm(signature), algorithm);
      assert.ok(rsa.publicKey.verify(data, signature, [algorithm]));
    }
    client.close();
  });

  it('refuses to sign with a key it does not hold, and removes keys one by one or all at once', async () => {
    const server = new AgentServer();
    const { client } = pair(server);
    await assert.rejects(client.sign(ed25519.publicKey, Buffer.from('x')), AgentRequestError);
    await client.add(ed25519);
    await client.add(ecdsa);
    await client.remove(ed25519.publicKey);
    await assert.rejects(client.remove(ed25519.publicKey), AgentRequestError);
    assert.deepEqual((await client.list()).map((identity) => identity.comment), ['ecdsa key']);
    await client.add(rsa);
    await client.removeAll();
    assert.equal((await client.list()).length, 0);
    client.close();
  });

  it('re-adding a key replaces its comment and constraints in place', async () => {
    const server = new AgentServer();
    const { client } = pair(server);
    await client.add(ed25519);
    await client.add(ecdsa);
    await client.add(ed25519, { comment: 'renamed' });
    assert.deepEqual((await client.list()).map((identity) => identity.comment), ['renamed', 'ecdsa key']);
    client.close();
  });

  it('a locked agent lists nothing and signs nothing; only the right passphrase unlocks it', async () => {
    const server = new AgentServer();
    const { client } = pair(server);
    await client.add(ed25519);
    await client.lock('sesame');
    assert.ok(server.locked);
    assert.deepEqual(await client.list(), []);
    await assert.rejects(client.sign(ed25519.publicKey, Buffer.from('x')), AgentRequestError);
    await assert.rejects(client.add(ecdsa), AgentRequestError);
    await assert.rejects(client.removeAll(), AgentRequestError);
    await assert.rejects(client.lock('again'), AgentRequestError);
    const started = Date.now();
    await assert.rejects(client.unlock('wrong'), AgentRequestError);
    await assert.rejects(client.unlock('wrong again'), AgentRequestError);
    // Rate limit: 0.1 s after the first failure, 0.2 s after the second.
    assert.ok(Date.now() - started >= 280, `wrong unlocks answered too fast (${Date.now() - started} ms)`);
    await client.unlock('sesame');
    assert.equal((await client.list()).length, 1, 'keys survive lock and unlock');
    await assert.rejects(client.unlock('sesame'), AgentRequestError, 'unlocking an unlocked agent fails');
    client.close();
  });

  it('forgets a key when its lifetime ends (explicit and default lifetime)', async () => {
    const server = new AgentServer({ defaultLifetime: 1 });
    const { client } = pair(server);
    await client.add(ed25519, { lifetime: 1 });
    await client.add(ecdsa); // gets the default lifetime of 1 s
    assert.equal((await client.list()).length, 2);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal((await client.list()).length, 0);
    client.close();
  });

  it('asks before each use of a confirm key, and refuses when the user declines', async () => {
    const answers = [true, false];
    const prompts: string[] = [];
    const server = new AgentServer({
      confirm: async (prompt) => {
        prompts.push(prompt);
        return answers.shift() ?? false;
      },
    });
    const { client } = pair(server);
    await client.add(ed25519, { confirm: true });
    const data = Buffer.from('x');
    assert.ok(ed25519.publicKey.verify(data, await client.sign(ed25519.publicKey, data)));
    await assert.rejects(client.sign(ed25519.publicKey, data), AgentRequestError);
    assert.equal(prompts.length, 2);
    assert.match(prompts[0]!, /^Allow use of key ed25519 key\?\nKey fingerprint SHA256:/);
    client.close();
  });

  it('answers malformed and unknown requests with FAILURE and keeps serving', async () => {
    const server = new AgentServer();
    const { client, raw } = pair(server);
    const failure = Buffer.from([AGENT_MSG.FAILURE]);
    // Unknown message type, protocol-1 remove-all, a truncated sign request, trailing garbage.
    for (const body of [Buffer.from([200]), Buffer.from([AGENT_MSG.REMOVE_ALL_RSA_IDENTITIES]), Buffer.from([AGENT_MSG.SIGN_REQUEST, 0, 0, 0, 9]), Buffer.from([AGENT_MSG.REQUEST_IDENTITIES, 1])]) {
      assert.deepEqual(await client.request(body), failure);
    }
    // An ADD_IDENTITY with an unknown key type, and one with an unknown constraint.
    const unknownType = new Writer().byte(AGENT_MSG.ADD_IDENTITY).string('ssh-foo').string('junk').string('comment').finish();
    assert.deepEqual(await client.request(Buffer.from(unknownType)), failure);
    const badConstraint = Buffer.concat([Buffer.from([AGENT_MSG.ADD_ID_CONSTRAINED]), encodePrivateKeyFields(ed25519), Buffer.from([77])]);
    assert.deepEqual(await client.request(badConstraint), failure);
    assert.equal((await client.list()).length, 0);
    // Unknown extension fails; "query" lists what we support.
    await assert.rejects(client.extension('session-bind@openssh.com'), AgentRequestError);
    const query = await client.extension('query');
    assert.equal(new Reader(query, 1).text(), 'query');
    await client.add(ed25519);
    assert.equal((await client.list()).length, 1);
    assert.ok(raw.writable);
    client.close();
  });

  it('drops a client that announces an oversized message, without affecting other clients', async () => {
    const server = new AgentServer();
    const good = pair(server);
    await good.client.add(ed25519);
    const bad = pair(server);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_AGENT_MESSAGE + 1);
    assert.equal(await rawExchange(bad.raw, header), undefined, 'the oversized client is disconnected');
    assert.equal((await good.client.list()).length, 1);
    good.client.close();
  });

  it('serves pipelined requests in order', async () => {
    const server = new AgentServer();
    const { client } = pair(server);
    const results = await Promise.all([client.add(ed25519), client.list(), client.add(ecdsa), client.list(), client.removeAll(), client.list()]);
    assert.equal((results[1] as unknown[]).length, 1);
    assert.equal((results[3] as unknown[]).length, 2);
    assert.equal((results[5] as unknown[]).length, 0);
    client.close();
  });

  it('rejects waiting requests when the agent goes away', async () => {
    const [ours, theirs] = duplexPair();
    const client = new AgentClient(ours);
    const pending = client.list();
    theirs.destroy();
    await assert.rejects(pending, AgentConnectionClosedError);
  });
});

describe('MessageDeframer', () => {
  it('reassembles messages split at every byte and joined in one chunk', () => {
    const bodies = [Buffer.from([11]), Buffer.from([13, 1, 2, 3]), Buffer.alloc(70_000, 7)];
    const stream = Buffer.concat(bodies.map(frameMessage));
    const deframer = new MessageDeframer();
    const received: Buffer[] = [];
    for (let offset = 0; offset < stream.length; offset += 997) received.push(...deframer.push(stream.subarray(offset, offset + 997)));
    assert.deepEqual(received, bodies);
    assert.equal(deframer.buffered, 0);
    assert.deepEqual(new MessageDeframer().push(stream), bodies);
  });

  it('refuses zero-length and oversized messages as soon as the length arrives', () => {
    assert.throws(() => new MessageDeframer().push(Buffer.from([0, 0, 0, 0])), AgentFramingError);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_AGENT_MESSAGE + 1);
    assert.throws(() => new MessageDeframer().push(header), AgentFramingError);
  });
});
