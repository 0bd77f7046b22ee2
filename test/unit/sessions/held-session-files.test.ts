/**
 * A held session's own files (holder-api.ts HeldSessionFiles, docs/PROTOCOL.sessions §9): the holder keeps the
 * paths the server made for the session's ccache and agent socket, reports them in the summary so that a later
 * attach can refresh them, removes them when the session ends, and accepts only single names directly in /tmp.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { decodeCreate, encodeCreate } from '../../../src/sessions/holder/holder-requests.ts';
import { HolderProtocolError } from '../../../src/sessions/holder/holder-protocol.ts';
import { inProcessHolder, shellSession, waitFor } from './holder-fixture.ts';

test('the session files are in the summary, and removed once the session ends', async () => {
  const fixture = await inProcessHolder();
  const files = { ccache: `/tmp/krb5cc_test_${process.pid}`, agentSocket: `/tmp/ssh-held-test-${process.pid}` };
  for (const path of Object.values(files)) writeFileSync(path, '');
  try {
    const attachment = await fixture.client.create(shellSession('read line; echo "[$line]"', { files }));
    assert.deepEqual(attachment.summary.files, files);
    assert.deepEqual((await fixture.client.list())[0]!.files, files);
    attachment.detach();
    const again = (await fixture.client.attach({ id: attachment.summary.id, replay: 'offsets', outputFrom: 0 }))!;
    assert.deepEqual(again.summary.files, files, 'a later attach learns where they are');
    assert.ok(Object.values(files).every((path) => existsSync(path)), 'kept while the session lives');
    again.input.end('bye\n');
    await again.exit;
    again.detach();
    await waitFor(() => Object.values(files).every((path) => !existsSync(path)));
  } finally {
    await fixture.close();
  }
});

test('only single names directly in /tmp are accepted as session files', () => {
  const request = (files: Record<string, string>) => JSON.parse(JSON.stringify(encodeCreate(shellSession('true', { files }))));
  assert.deepEqual(decodeCreate(request({ ccache: '/tmp/krb5cc_1000_Ab3dE5fG7h' })).files, { ccache: '/tmp/krb5cc_1000_Ab3dE5fG7h' });
  for (const bad of ['/etc/passwd', '/tmp/../etc/passwd', '/tmp/a/b', 'tmp/x', '/tmp/', '/tmp/..']) {
    assert.throws(() => decodeCreate(request({ agentSocket: bad })), HolderProtocolError, bad);
  }
});
