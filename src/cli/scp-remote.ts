/**
 * `scp -t TARGET` and `scp -f SOURCE…`: the remote end of the legacy scp protocol, which an `scp -O` client
 * (OpenSSH's or ours) runs on the server through the user's shell: scp.c with `iamremote` set. The protocol
 * runs on stdin and stdout; errors go to the other end as protocol messages and are not printed here, since
 * the client prints what it receives (scp.c run_err writes to stderr only when not remote).
 */
import { stat } from 'node:fs/promises';
import { ByteReader, receiveFiles, runErr, ScpProtocolError, sendFiles, type ScpHooks } from './scp-protocol.ts';
import { asyncStdout } from './stdout-stream.ts';

export interface RemoteRole {
  role: 'sink' | 'source';
  operands: string[];
  recursive: boolean;
  preserve: boolean;
  /** -d: the target must be a directory (the client copies several files, or asked for it). */
  targetShouldBeDirectory: boolean;
}

/** What the client has been told is all that matters here: nothing goes to our stderr. */
const REMOTE_HOOKS: ScpHooks = { localError: () => {}, remoteMessage: () => {} };

function closed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.end(() => resolve());
  });
}

/** Serves the protocol; resolves with scp's exit status (0, or 1 when anything failed). */
export async function serveScpRemote(request: RemoteRole): Promise<number> {
  const input = new ByteReader(process.stdin);
  const output = asyncStdout();
  const options = { recursive: request.recursive, preserve: request.preserve };
  let errors = 0;
  try {
    if (request.role === 'source') {
      errors = await sendFiles(request.operands, input, output, options, REMOTE_HOOKS);
    } else if (request.operands.length !== 1) {
      await runErr(output, REMOTE_HOOKS, 'ambiguous target');
      errors = 1;
    } else {
      const target = request.operands[0]!;
      // scp.c verifydir(): refused before the first byte, and scp exits.
      if (request.targetShouldBeDirectory && (await stat(target).catch(() => undefined))?.isDirectory() !== true) {
        await runErr(output, REMOTE_HOOKS, `${target}: Not a directory`);
        errors = 1;
      } else {
        errors = await receiveFiles(input, output, { ...options, target }, REMOTE_HOOKS);
      }
    }
  } catch (error) {
    // A fatal message from the client, or the connection gone mid-protocol: nothing more can be said to it.
    if (!(error instanceof ScpProtocolError)) throw error;
    errors++;
  }
  await closed(output);
  process.stdin.destroy();
  return errors === 0 ? 0 : 1;
}
