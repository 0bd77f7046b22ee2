/**
 * The forwarded-agent socket takes its descriptors out of the process's budget (resource-limits.ts) like
 * forwarding and X11 do: the listener holds one, each program connected to it one more; past the budget a
 * connection is turned away and the refusal logged, and everything is given back when the connection ends.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { ForwardedAgentSocket } from '../../../src/server/agent-forwarding.ts';
import { ConnectionResources, ServerResources } from '../../../src/server/resource-limits.ts';
import type { HandlerContext } from '../../../src/server/handlers.ts';
import { waitFor } from '../../helpers/services.ts';


describe('forwarded agent socket and the descriptor budget', () => {
  it('holds one descriptor per socket, refuses past the budget, and gives them back', async () => {
    // A limit of 130 keeps the minimum reserve of 128: a budget of two descriptors.
    const shared = new ServerResources(130);
    const lines: string[] = [];
    const log = { level: 'INFO', error: (line: string) => lines.push(line), info: (line: string) => lines.push(line), verbose() {}, debug() {} };
    const resources = new ConnectionResources(shared, 'alice', { maxForwards: 100, maxForwardsPerUser: 100, maxSessionsPerUser: 100 }, log as never, 'user alice from 127.0.0.1 port 5000');
    const connection = Object.assign(new EventEmitter(), {
      // The client never answers the channel open: the agent connection stays open meanwhile.
      openChannel: () => new Promise(() => {}),
    });
    const me = userInfo();
    const context = { connection, resources, log, session: { account: { uid: me.uid, gid: me.gid }, switchUser: false } } as unknown as HandlerContext;

    const agent = new ForwardedAgentSocket(context);
    assert.equal(shared.descriptorsHeld, 1, 'the listener holds one descriptor');
    const first = connect(agent.path);
    first.on('error', () => {});
    await waitFor('the first agent connection to be counted', () => shared.descriptorsHeld === 2, 5000);
    const second = connect(agent.path);
    second.on('error', () => {});
    const secondClosed = new Promise<void>((resolve) => second.once('close', () => resolve()));
    await secondClosed;
    assert.equal(shared.descriptorsHeld, 2, 'the refused connection took nothing');
    assert.ok(lines.some((line) => /forwarded agent connection/.test(line) && /descriptor budget/.test(line)), lines.join('\n'));

    // The connection ends (server-connection.ts then releases everything the connection holds).
    connection.emit('close');
    resources.releaseAll();
    first.destroy();
    await waitFor('the descriptors to be given back', () => shared.descriptorsHeld === 0, 5000);
  });
});
