/**
 * The server's last-resort policy (containment.ts): an uncaught exception or unhandled rejection raised in
 * a connection's async scope ends that connection and the server carries on; an unhandled rejection outside
 * any connection is logged; an uncaught exception outside any connection exits with 255. Driven through a
 * stand-in for `process`, so this test's own process is never at stake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { installLastResortGuard, runAsConnection, type ContainedConnection, type GuardHost } from '../../../src/server/containment.ts';
import { createLogger } from '../../../src/server/logger.ts';

function host(): GuardHost & { exits: number[]; emitter: EventEmitter } {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    emitter,
    exits,
    on: (event, listener) => emitter.on(event, listener),
    off: (event, listener) => emitter.off(event, listener),
    exit: (code) => void exits.push(code),
  };
}

test('a failure in a connection\'s scope, even from a later timer, ends that connection only', async () => {
  const lines: string[] = [];
  const fake = host();
  const remove = installLastResortGuard(createLogger({ level: 'INFO', destination: (line) => lines.push(line) }), fake);
  const aborted: Error[] = [];
  const connection: ContainedConnection = { id: 7, describe: () => 'user alice from 10.0.0.5 port 5000', abort: (error) => aborted.push(error) };
  // The timer is created inside the scope and fires later; the failure it raises is emitted from it.
  await new Promise<void>((resolve) =>
    runAsConnection(connection, () =>
      setTimeout(() => {
        fake.emitter.emit('uncaughtException', new Error('late failure'));
        resolve();
      }, 5),
    ),
  );
  assert.equal(aborted.length, 1);
  assert.deepEqual(fake.exits, []);
  assert.match(lines[0]!, /^error: connection #7 \(user alice from 10\.0\.0\.5 port 5000\): uncaught exception: late failure; closing that connection$/);

  fake.emitter.emit('unhandledRejection', new Error('stray'));
  assert.deepEqual(fake.exits, []);
  assert.match(lines.at(-1)!, /^error: unhandled rejection outside any connection: stray$/);

  fake.emitter.emit('uncaughtException', new Error('listener broke'));
  assert.deepEqual(fake.exits, [255]);
  remove();
  assert.equal(fake.emitter.listenerCount('uncaughtException'), 0);
});
