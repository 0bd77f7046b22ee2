/**
 * OpenSSH's key ordering (sshconnect2.c pubkey_prepare) and AddKeysToAgent, with in-process agents.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import type { AuthKey } from '../../../src/auth/client-auth.ts';
import { AgentServer } from '../../../src/agent/agent-server.ts';
import { AgentClient } from '../../../src/agent/agent-client.ts';
import { addKeyToAgent, agentAuthKeys, agentSocketPath, selectAuthKeys } from '../../../src/agent/agent-keys.ts';
import { generatePrivateKey, type SshPrivateKey } from '../../../src/keys/index.ts';

const keys = ['a', 'b', 'c', 'd'].map((name) => generatePrivateKey('ed25519', undefined, name));

function fileKey(key: SshPrivateKey, signs: string[]): AuthKey {
  return {
    publicKey: key.publicKey,
    label: `/keys/${key.comment}`,
    async sign(data, algorithm) {
      signs.push(`file:${key.comment}`);
      return key.sign(data, algorithm);
    },
  };
}

function agentKey(key: SshPrivateKey, signs: string[]): AuthKey {
  return {
    publicKey: key.publicKey,
    label: key.comment,
    async sign(data, algorithm) {
      signs.push(`agent:${key.comment}`);
      return key.sign(data, algorithm);
    },
  };
}

function connectedAgent(): { server: AgentServer; client: AgentClient } {
  const server = new AgentServer();
  const [ours, theirs] = duplexPair();
  server.serve(theirs);
  return { server, client: new AgentClient(ours) };
}

describe('selectAuthKeys', () => {
  const [a, b, c, d] = keys as [SshPrivateKey, SshPrivateKey, SshPrivateKey, SshPrivateKey];

  // pubkey_prepare: agent keys that are identity files first ("agent keys from the config file are
  // preferred"), then the agent's other keys, each group in agent order, then the files the agent lacks.
  it('without IdentitiesOnly: agent-held identity files, the other agent keys, then identity files the agent lacks', () => {
    const signs: string[] = [];
    const selected = selectAuthKeys({
      agentKeys: [agentKey(c, signs), agentKey(a, signs), agentKey(d, signs)],
      identityFiles: [fileKey(a, signs), fileKey(b, signs)],
      identitiesOnly: false,
    });
    assert.deepEqual(selected.map((key) => key.label), ['/keys/a', 'c', 'd', '/keys/b']);
  });

  it('with IdentitiesOnly: only identity files, the ones in the agent signed by the agent', async () => {
    const signs: string[] = [];
    const selected = selectAuthKeys({
      agentKeys: [agentKey(c, signs), agentKey(a, signs), agentKey(d, signs)],
      identityFiles: [fileKey(b, signs), fileKey(a, signs)],
      identitiesOnly: true,
    });
    assert.deepEqual(selected.map((key) => key.label), ['/keys/a', '/keys/b']);
    for (const key of selected) await key.sign(Buffer.from('x'), 'ssh-ed25519');
    assert.deepEqual(signs, ['agent:a', 'file:b']);
  });
});

describe('agent keys as AuthKeys', () => {
  it('sign through the agent and ask for the RSA hash the caller names', async () => {
    const { client } = connectedAgent();
    const rsa = generatePrivateKey('rsa', 2048, 'rsa');
    await client.add(rsa);
    const [key] = await agentAuthKeys(client);
    assert.equal(key!.comment, 'rsa');
    const data = Buffer.from('to sign');
    for (const algorithm of ['rsa-sha2-256', 'rsa-sha2-512']) {
      const signature = await key!.sign(data, algorithm);
      assert.ok(rsa.publicKey.verify(data, signature, [algorithm]), algorithm);
    }
    client.close();
  });

  it('agentSocketPath honours IdentityAgent, "none" and $VARIABLE forms', () => {
    const env = { SSH_AUTH_SOCK: '/run/agent', OTHER: '/run/other' };
    assert.equal(agentSocketPath(undefined, env), '/run/agent');
    assert.equal(agentSocketPath('SSH_AUTH_SOCK', env), '/run/agent');
    assert.equal(agentSocketPath('none', env), undefined);
    assert.equal(agentSocketPath('$OTHER', env), '/run/other');
    assert.equal(agentSocketPath('/tmp/sock', env), '/tmp/sock');
    assert.equal(agentSocketPath(undefined, {}), undefined);
  });
});

describe('addKeyToAgent (AddKeysToAgent)', () => {
  it('yes adds, no does not, ask asks, confirm adds with the confirm constraint, lifetime applies', async () => {
    const { server, client } = connectedAgent();
    const [a, b, c, d] = keys as [SshPrivateKey, SshPrivateKey, SshPrivateKey, SshPrivateKey];
    assert.equal(await addKeyToAgent({ client, key: a, path: '/k/a', mode: 'no' }), false);
    assert.equal(await addKeyToAgent({ client, key: a, path: '/k/a', mode: 'yes', lifetime: 60 }), true);
    const questions: string[] = [];
    assert.equal(await addKeyToAgent({ client, key: b, path: '/k/b', mode: 'ask', ask: async (q) => (questions.push(q), false) }), false);
    assert.equal(await addKeyToAgent({ client, key: c, path: '/k/c', mode: 'ask', ask: async () => true }), true);
    assert.equal(await addKeyToAgent({ client, key: d, path: '/k/d', mode: 'confirm' }), true);
    assert.deepEqual(questions, ['Add key /k/b (b) to agent?']);
    const held = server.identities.list();
    assert.deepEqual(held.map((identity) => identity.comment), ['a', 'c', 'd']);
    assert.ok(held[0]!.expiresAt !== undefined);
    assert.deepEqual(held.map((identity) => identity.confirm), [false, false, true]);
    client.close();
  });
});
