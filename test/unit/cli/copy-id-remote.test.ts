/**
 * copy-id's remote commands when the server's whole answer — exec reply, output, exit-status, EOF and
 * CHANNEL_CLOSE — arrives in one read, so the channel is closed before `exec` resolves: the command exited
 * without reading its stdin. That used to raise ERR_STREAM_WRITE_AFTER_END on the ended channel: uncaught, it
 * killed copy-id; caught, the errored channel never emitted 'end' and copy-id hung.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Channel, type ChannelHost } from '../../../src/connection/channel.ts';
import { Session } from '../../../src/client/session.ts';
import { runRemote } from '../../../src/cli/copy-id.ts';

function host(): ChannelHost & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  return { sent, send: (payload) => (sent.push(payload), true), transportWritable: true, onceTransportDrain: () => {}, releaseChannel: () => {} };
}

/** A client whose exec'd command has already finished, with `output` and `code`, by the time exec resolves. */
function finishedCommandClient(output: string, code: number, errors: Error[]) {
  return {
    async exec(command: string) {
      const channel = new Channel(host(), 'session', 0);
      channel.attach(7, 2 * 1024 * 1024, 32 * 1024);
      // Recorded rather than thrown: an 'error' with no listener would crash the test process instead.
      channel.on('error', (error: Error) => errors.push(error));
      const session = new Session(channel);
      const execDone = session.exec(command);
      channel.receiveRequestReply(true);
      if (output) channel.receiveData(Buffer.from(output));
      channel.exitStatus = { code };
      channel.receiveEof();
      channel.receiveClose();
      await execDone;
      return session;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('copy-id runRemote', { timeout: 10_000 }, () => {
  for (const input of ['', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA new@key\n']) {
    it(`survives a command that exited before reading its stdin (${input ? 'with' : 'without'} input)`, async () => {
      const errors: Error[] = [];
      const client = finishedCommandClient('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB old@key\n', 0, errors);
      const result = await runRemote(client as never, 'true', input);
      await settle();
      await settle();
      assert.deepEqual(errors, []);
      assert.deepEqual(result, { status: 0, stdout: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB old@key\n', stderr: '' });
    });
  }

  it('reports the exit status of a command that failed at once', async () => {
    const errors: Error[] = [];
    const result = await runRemote(finishedCommandClient('', 1, errors) as never, 'exit 1', 'key\n');
    await settle();
    assert.deepEqual(errors, []);
    assert.equal(result.status, 1);
  });
});
