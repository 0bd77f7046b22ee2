/**
 * `tether session-holder --directory DIR`: the hidden command the server starts (detached, as the user) to
 * hold that user's sessions (src/sessions/holder/). Not in the usage list; nobody types it.
 *
 * A holder outlives the server and any terminal: it ignores SIGHUP; on SIGTERM it hangs up its sessions and
 * leaves. Its stdio is closed, and an unexpected exception is survived rather than taking every session of
 * the user down with it.
 */
import { Holder } from '../sessions/holder/holder-main.ts';
import { HolderDirectoryError } from '../sessions/holder/holder-directory.ts';

const USAGE = 'usage: tether session-holder --directory directory\n';

function parse(argv: readonly string[]): { directory: string; lingerMs?: number; startGraceMs?: number } | undefined {
  let directory: string | undefined;
  let lingerMs: number | undefined;
  let startGraceMs: number | undefined;
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) return undefined;
    if (argv[i] === '--directory') directory = value;
    // For tests: how long an empty holder stays (default 10 s), and how long it waits for its first session (30 s).
    else if (argv[i] === '--linger-ms' && /^\d+$/.test(value)) lingerMs = Number(value);
    else if (argv[i] === '--start-grace-ms' && /^\d+$/.test(value)) startGraceMs = Number(value);
    else return undefined;
  }
  return directory === undefined ? undefined : { directory, ...(lingerMs !== undefined ? { lingerMs } : {}), ...(startGraceMs !== undefined ? { startGraceMs } : {}) };
}

export async function sessionHolderMain(argv: string[]): Promise<number> {
  const options = parse(argv);
  if (!options) {
    process.stderr.write(USAGE);
    return 1;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  let holder: Holder | undefined;
  try {
    holder = await Holder.start({ ...options, log });
  } catch (error) {
    if (!(error instanceof HolderDirectoryError)) throw error;
    log(`tether session-holder: ${error.message}`);
    return 1;
  }
  if (!holder) return 0; // another holder serves this directory
  const running = holder;
  process.on('SIGHUP', () => {});
  process.on('SIGTERM', () => void running.terminate());
  process.on('uncaughtException', (error) => log(`tether session-holder: uncaught exception: ${error.message}`));
  process.on('unhandledRejection', (reason) => log(`tether session-holder: unhandled rejection: ${(reason as Error)?.message ?? String(reason)}`));
  return running.done;
}
