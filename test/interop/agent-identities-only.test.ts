/**
 * The guide's IdentitiesOnly case with our client library: an agent holding seven keys, a server with
 * MaxAuthTries 3 that accepts only the seventh. Offering every agent key exhausts the tries; IdentitiesOnly
 * with the right IdentityFile logs in at once (signed by the agent, which holds that key too).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey, publicKeyLine, startSshd, tempDir, type RunningSshd } from '../helpers/openssh.ts';
import { waitFor } from '../unit/agent/run-tether.ts';
import { connect } from '../../src/client/client.ts';
import { identityFileKeys } from '../../src/client/identities.ts';
import { AgentServer } from '../../src/agent/agent-server.ts';
import { listenAgentSocket, type AgentListener } from '../../src/agent/agent-socket.ts';
import { loadAgentKeys, selectAuthKeys } from '../../src/agent/agent-keys.ts';
import { connectAgent } from '../../src/agent/agent-client.ts';
import { parsePrivateKey } from '../../src/keys/index.ts';

let dir: string;
let sshd: RunningSshd;
let listener: AgentListener;

const keyFiles: string[] = [];
const user = process.env.USER ?? 'root';
const PASSPHRASE = 'seventh key';

before(async () => {
  dir = tempDir('tether-idonly-');
  // The seventh key's file is encrypted and no passphrase is offered, so a login with it proves the agent signed.
  for (let index = 1; index <= 7; index++) keyFiles.push(makeKey(dir, `key${index}`, 'ed25519', undefined, index === 7 ? PASSPHRASE : ''));
  sshd = await startSshd({ authorizedKeys: [publicKeyLine(keyFiles[6]!)], config: ['MaxAuthTries 3'] });
  listener = await listenAgentSocket(new AgentServer(), join(dir, 'agent.sock'));
  const client = await connectAgent(listener.path);
  for (const file of keyFiles) await client.add(parsePrivateKey(readFileSync(file), file === keyFiles[6] ? PASSPHRASE : undefined));
  client.close();
});
after(async () => {
  await listener?.close();
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function login(identitiesOnly: boolean) {
  const agent = await loadAgentKeys({ socketPath: listener.path });
  assert.ok(agent);
  assert.equal(agent.keys.length, 7);
  const offered: string[] = [];
  // Without IdentitiesOnly there is no IdentityFile either: an agent-held identity file would be offered
  // first (pubkey_prepare prefers agent keys that are identity files), and the agent's order is the point.
  const identityFiles = identitiesOnly ? identityFileKeys([keyFiles[6]!], {}) : [];
  const keys = selectAuthKeys({ agentKeys: agent.keys, identityFiles, identitiesOnly }).map((key) => {
    offered.push(key.label);
    return key;
  });
  try {
    const client = await connect({
      host: '127.0.0.1',
      port: sshd.port,
      username: user,
      verifyHostKey: () => {},
      auth: { methods: ['publickey'], keys: () => keys },
      connectTimeout: 20,
    });
    return { client, offered, close: () => agent.close() };
  } catch (error) {
    agent.close();
    throw error;
  }
}

describe('IdentitiesOnly with seven keys in the agent and MaxAuthTries 3', () => {
  it('offering the agent keys in order fails with too many authentication failures', async () => {
    await assert.rejects(login(false), (error: Error) => {
      assert.match(error.message, /Too many authentication failures/);
      return true;
    });
    await waitFor(() => /maximum authentication attempts exceeded/.test(sshd.log()), 5000, 'sshd to log the lockout');
    assert.equal(sshd.log().match(/Failed publickey for /g)?.length, 3, 'three agent keys used up MaxAuthTries');
  });

  it('IdentitiesOnly=yes with the right IdentityFile logs in, the agent signing', async () => {
    const { client, offered, close } = await login(true);
    try {
      assert.deepEqual(offered, [keyFiles[6]]);
      const session = await client.exec('echo identities-only-ok');
      let output = '';
      session.channel.setEncoding('utf8');
      session.channel.on('data', (text: string) => (output += text));
      const ended = new Promise<void>((resolve) => session.channel.once('end', () => resolve()));
      const [exit] = await Promise.all([session.exit, ended]);
      assert.equal(exit.code, 0);
      assert.equal(output, 'identities-only-ok\n');
    } finally {
      client.end();
      close();
    }
  });
});
