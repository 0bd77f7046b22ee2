/**
 * `tether copy-id`: ssh-copy-id(1). Logs in (by key or password), reads the remote ~/.ssh/authorized_keys,
 * and appends the public keys that are not there yet, with ssh-copy-id's messages.
 *
 *   tether copy-id [-f] [-n] [-i identity_file] [-p port] [-o ssh_option] ... [user@]hostname
 *
 * Unlike ssh-copy-id, which tries to log in with each key to learn whether it is installed, we read the
 * authorized_keys file once and compare key blobs (so a key with a different comment or options is still
 * recognised). The remote side only ever runs POSIX sh; umask 077 gives a new ~/.ssh 0700 and a new
 * authorized_keys 0600, as ssh-copy-id does.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CopyIdExit, expandTilde, parseCopyIdArguments, PROGRAM, shellQuote, splitDestination, sshDir, type CopyIdInvocation } from './copy-id-arguments.ts';
import { readPassphrase } from './add.ts';
import { askQuestion } from './ssh-terminal.ts';
import { describeFailure } from './ssh.ts';
import { connect, type SshClient } from '../client/client.ts';
import { hostKeyVerifier } from '../client/host-key-policy.ts';
import { defaultIdentityFiles, identityFileKeys } from '../client/identities.ts';
import type { AuthKey } from '../auth/client-auth.ts';
import { loadAgentKeys, selectAuthKeys, type AgentKeys } from '../agent/agent-keys.ts';
import { parsePublicKeyLine } from '../keys/public-key.ts';

/** A public key to install, as its authorized_keys line. */
interface KeyToInstall {
  line: string;
  /** base64 of the key blob: what "already installed" compares. */
  blob64: string;
}


/** ssh-copy-id's default: the most recently modified ~/.ssh/id*.pub that is not a certificate. */
export function newestDefaultPublicKey(dir = sshDir()): string | undefined {
  if (!existsSync(dir)) return undefined;
  const candidates = readdirSync(dir)
    .filter((name) => name.startsWith('id') && name.endsWith('.pub') && !name.endsWith('-cert.pub'))
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return candidates[0];
}

function readKeyFile(publicFile: string): KeyToInstall[] {
  const keys: KeyToInstall[] = [];
  for (const line of readFileSync(publicFile, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    try {
      const { key, comment } = parsePublicKeyLine(trimmed);
      keys.push({ line: comment ? `${key.toLine()} ${comment}` : key.toLine(), blob64: key.blob.toString('base64') });
    } catch {
      throw new CopyIdExit(`${PROGRAM}: ERROR: failed to read a public key from '${publicFile}'`);
    }
  }
  return keys;
}

/**
 * The keys to install: from -i (the .pub beside the named file; its private half must exist unless -f),
 * else the agent's keys, else the newest ~/.ssh/id*.pub — ssh-copy-id's order of choice.
 */
async function chooseKeys(invocation: CopyIdInvocation, agent: AgentKeys | undefined, stderr: NodeJS.WritableStream): Promise<KeyToInstall[]> {
  const fromFile = (file: string): KeyToInstall[] => {
    const publicFile = file.endsWith('.pub') ? file : `${file}.pub`;
    const privateFile = publicFile.slice(0, -'.pub'.length);
    for (const path of invocation.force ? [publicFile] : [publicFile, privateFile]) {
      if (!existsSync(path)) {
        const hint = path === privateFile ? `\n\t(to install the contents of '${publicFile}' anyway, look at the -f option)` : '';
        throw new CopyIdExit(`\n${PROGRAM}: ERROR: failed to open ID file '${path}': No such file or directory${hint}`);
      }
    }
    stderr.write(`${PROGRAM}: INFO: Source of key(s) to be installed: "${publicFile}"\n`);
    return readKeyFile(publicFile);
  };
  if (invocation.identityFile !== undefined) return fromFile(invocation.identityFile);
  if (agent && agent.keys.length > 0) {
    return agent.keys.map((key) => ({
      line: key.comment ? `${key.publicKey.toLine()} ${key.comment}` : key.publicKey.toLine(),
      blob64: key.publicKey.blob.toString('base64'),
    }));
  }
  const newest = newestDefaultPublicKey();
  if (newest) return fromFile(newest);
  throw new CopyIdExit(`${PROGRAM}: ERROR: No identities found`);
}

/** Prints the remote authorized_keys (or nothing); never fails for a missing file. */
const READ_AUTHORIZED_KEYS = `exec sh -c 'cd; cat .ssh/authorized_keys 2>/dev/null; exit 0'`;

/**
 * Appends stdin to ~/.ssh/authorized_keys, creating both with umask 077 and first adding a newline when
 * the file does not end with one; restores the SELinux context where that exists (as ssh-copy-id does).
 */
const INSTALL_KEYS = [
  'exec sh -c \'cd; umask 077;',
  'mkdir -p .ssh &&',
  '{ [ -z "`tail -c 1 .ssh/authorized_keys 2>/dev/null`" ] || echo >> .ssh/authorized_keys || exit 1; } &&',
  'cat >> .ssh/authorized_keys || exit 1;',
  'if type restorecon >/dev/null 2>&1; then restorecon -F .ssh .ssh/authorized_keys; fi\'',
].join(' ');

/** Runs `command` with `input` on its stdin; exported for tests. */
export async function runRemote(client: Pick<SshClient, 'exec'>, command: string, input: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const session = await client.exec(command);
  let stdout = '';
  let stderr = '';
  session.channel.setEncoding('utf8');
  session.channel.on('data', (text: string) => {
    // authorized_keys files are small; refuse to buffer an absurd amount.
    if (stdout.length < 16 * 1024 * 1024) stdout += text;
  });
  session.stderr.setEncoding('utf8');
  session.stderr.on('data', (text: string) => {
    if (stderr.length < 64 * 1024) stderr += text;
  });
  // The exit status can arrive before buffered output has been delivered: wait for both ends of the output.
  const outputDone = Promise.all([streamFinished(session.channel), streamFinished(session.stderr)]);
  // The command may have finished already: the exec reply, its output, exit-status and CHANNEL_CLOSE can
  // come in one read, and the close ends our side of the channel before `exec` resolves here. Writing then
  // would raise ERR_STREAM_WRITE_AFTER_END on a later tick, uncaught; the input has no reader by then anyway.
  if (session.channel.writable) session.channel.end(input);
  const [exit] = await Promise.all([session.exit, outputDone]);
  return { status: exit.code ?? (exit.signal ? 255 : 0), stdout, stderr };
}

/** Resolves when a readable has delivered all its data (or was torn down). */
function streamFinished(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
}

/** Key blobs (base64) appearing anywhere in an authorized_keys text, whatever their options or comments. */
function installedBlobs(text: string): Set<string> {
  const blobs = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('#')) continue;
    for (const word of line.split(/[\s"]+/)) if (/^AAAA[A-Za-z0-9+/]+={0,2}$/.test(word)) blobs.add(word);
  }
  return blobs;
}

export interface CopyIdIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export async function copyIdMain(argv: string[], partialIO: Partial<CopyIdIO> = {}): Promise<number> {
  const io: CopyIdIO = {
    stdin: partialIO.stdin ?? process.stdin,
    stdout: partialIO.stdout ?? process.stdout,
    stderr: partialIO.stderr ?? process.stderr,
    env: partialIO.env ?? process.env,
  };
  let agent: AgentKeys | undefined;
  let client: SshClient | undefined;
  try {
    const invocation = parseCopyIdArguments(argv);
    const settings = invocation.settings;
    const { user, host } = splitDestination(invocation.destination, settings);
    const socketPath = settings.identityAgent === 'none' ? undefined : (settings.identityAgent ? expandTilde(settings.identityAgent) : io.env.SSH_AUTH_SOCK);
    agent = socketPath ? await loadAgentKeys({ socketPath }) : undefined;
    const keys = await chooseKeys(invocation, agent, io.stderr);

    try {
      client = await login(invocation, user, host, agent, io);
    } catch (error) {
      io.stderr.write(`${describeFailure(error as Error, user, host, settings.port)}\n`);
      return 1;
    }

    let toInstall = dedupe(keys);
    if (!invocation.force) {
      io.stderr.write(`${PROGRAM}: INFO: attempting to log in with the new key(s), to filter out any that are already installed\n`);
      const current = await runRemote(client, READ_AUTHORIZED_KEYS, '');
      const installed = installedBlobs(current.stdout);
      toInstall = toInstall.filter((key) => !installed.has(key.blob64));
      if (toInstall.length === 0) {
        io.stderr.write(`\n${PROGRAM}: WARNING: All keys were skipped because they already exist on the remote system.\n`);
        io.stderr.write('\t\t(if you think this is a mistake, you may want to use -f option)\n\n');
        return 0;
      }
      io.stderr.write(`${PROGRAM}: INFO: ${toInstall.length} key(s) remain to be installed -- if you are prompted now it is to install the new keys\n`);
    }
    const lines = toInstall.map((key) => key.line).join('\n');
    if (invocation.dryRun) {
      io.stdout.write(`=-=-=-=-=-=-=-=\nWould have added the following key(s):\n\n${lines}\n=-=-=-=-=-=-=-=\n`);
      return 0;
    }
    const result = await runRemote(client, INSTALL_KEYS, `${lines}\n`);
    if (result.status !== 0) {
      if (result.stderr) io.stderr.write(result.stderr);
      return 1;
    }
    const target = [...invocation.sshOptions, shellQuote(invocation.destination)].join(' ');
    io.stdout.write(
      `\nNumber of key(s) added: ${toInstall.length}\n\n` +
        `Now try logging into the machine, with:   "ssh ${target}"\n` +
        'and check to make sure that only the key(s) you wanted were added.\n\n',
    );
    return 0;
  } catch (error) {
    if (error instanceof CopyIdExit) {
      (error.status === 0 ? io.stdout : io.stderr).write(`${error.message}\n`);
      return error.status;
    }
    io.stderr.write(`${PROGRAM}: ERROR: ${(error as Error).message}\n`);
    return 1;
  } finally {
    client?.end();
    agent?.close();
  }
}

function dedupe(keys: KeyToInstall[]): KeyToInstall[] {
  const seen = new Set<string>();
  return keys.filter((key) => !seen.has(key.blob64) && seen.add(key.blob64));
}

/** Logs in as ssh would for ssh-copy-id: agent and identity-file keys, then password / keyboard-interactive. */
async function login(invocation: CopyIdInvocation, user: string, host: string, agent: AgentKeys | undefined, io: CopyIdIO): Promise<SshClient> {
  const settings = invocation.settings;
  const ask = (prompt: string) => readPassphrase(prompt, io).then((answer) => answer || undefined);
  const identityFiles = settings.identityFiles.length > 0 ? settings.identityFiles : defaultIdentityFiles(sshDir());
  const keys = (): AuthKey[] => {
    if (!settings.pubkeyAuthentication) return [];
    const files = identityFileKeys(identityFiles, { passphrase: settings.batchMode ? undefined : ask, attempts: settings.numberOfPasswordPrompts });
    return selectAuthKeys({ agentKeys: agent?.keys ?? [], identityFiles: files, identitiesOnly: settings.identitiesOnly });
  };
  return connect({
    host,
    port: settings.port,
    username: user,
    connectTimeout: settings.connectTimeout,
    verifyHostKey: hostKeyVerifier({
      host,
      port: settings.port,
      strict: settings.strictHostKeyChecking,
      userKnownHostsFiles: settings.userKnownHostsFiles,
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      ask: settings.batchMode ? undefined : askQuestion,
      warn: (message) => io.stderr.write(`${message}\n`),
    }),
    auth: {
      methods: settings.preferredAuthentications,
      keys,
      password: settings.passwordAuthentication && !settings.batchMode ? () => ask(`${user}@${host}'s password: `) : undefined,
      keyboardInteractive: settings.batchMode
        ? undefined
        : async (_name, _instruction, prompts) => {
            const answers: string[] = [];
            for (const prompt of prompts) {
              const answer = await ask(prompt.prompt);
              if (answer === undefined) return undefined;
              answers.push(answer);
            }
            return answers;
          },
      passwordAttempts: settings.numberOfPasswordPrompts,
    },
  });
}
