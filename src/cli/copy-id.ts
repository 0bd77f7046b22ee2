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
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { getopt, GetoptError } from './getopt.ts';
import { readPassphrase } from './add.ts';
import { askQuestion } from './ssh-terminal.ts';
import { describeFailure } from './ssh.ts';
import { connect, type SshClient } from '../client/client.ts';
import { hostKeyVerifier, type StrictHostKeyChecking } from '../client/host-key-policy.ts';
import { defaultIdentityFiles, identityFileKeys } from '../client/identities.ts';
import type { AuthKey } from '../auth/client-auth.ts';
import { loadAgentKeys, selectAuthKeys, type AgentKeys } from '../agent/agent-keys.ts';
import { parsePublicKeyLine } from '../keys/public-key.ts';

const PROGRAM = 'tether copy-id';
const USAGE = `Usage: ${PROGRAM} [-h|-?|-f|-n] [-i [identity_file]] [-p port] [[-o <ssh -o options>] ...] [user@]hostname
\t-f: force mode -- copy keys without trying to check if they are already installed
\t-n: dry run    -- no keys are actually copied
\t-h|-?: print this help
`;

/** Ends the command with `status` after printing `message` on stderr. */
class CopyIdExit extends Error {
  override readonly name = 'CopyIdExit';
  readonly status: number;
  constructor(message: string, status = 1) {
    super(message);
    this.status = status;
  }
}

interface CopyIdInvocation {
  identityFile: string | undefined;
  force: boolean;
  dryRun: boolean;
  /** Options as given, for the "Now try logging into the machine" line. */
  sshOptions: string[];
  destination: string;
  settings: LoginSettings;
}

/** The subset of ssh_config that copy-id honours from -p and -o. */
interface LoginSettings {
  user: string | undefined;
  port: number;
  strictHostKeyChecking: StrictHostKeyChecking;
  userKnownHostsFiles: string[];
  identityFiles: string[];
  identitiesOnly: boolean;
  identityAgent: string | undefined;
  preferredAuthentications: string[] | undefined;
  passwordAuthentication: boolean;
  pubkeyAuthentication: boolean;
  batchMode: boolean;
  connectTimeout: number | undefined;
  numberOfPasswordPrompts: number;
}

/** A public key to install, as its authorized_keys line. */
interface KeyToInstall {
  line: string;
  /** base64 of the key blob: what "already installed" compares. */
  blob64: string;
}

function sshDir(): string {
  return join(homedir(), '.ssh');
}

function expandTilde(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function yesNo(name: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'yes' || lower === 'true') return true;
  if (lower === 'no' || lower === 'false') return false;
  throw new CopyIdExit(`command-line line 0: unsupported option "${value}" for ${name}.`, 255);
}

/** Applies one `-o Keyword=value` (or `Keyword value`) the way ssh would for the keywords we know. */
function applyOption(settings: LoginSettings, text: string): void {
  const match = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(text);
  if (!match) throw new CopyIdExit(`command-line line 0: no argument after keyword "${text.trim()}"`, 255);
  const [, keyword, value] = match as unknown as [string, string, string];
  switch (keyword.toLowerCase()) {
    case 'port': {
      const port = Number(value);
      if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new CopyIdExit(`command-line line 0: Badly formatted port number.`, 255);
      settings.port = port;
      break;
    }
    case 'user': settings.user = value; break;
    case 'stricthostkeychecking': {
      const lower = value.toLowerCase();
      const mapped = lower === 'yes' || lower === 'true' ? 'yes' : lower === 'no' || lower === 'off' || lower === 'false' ? 'no' : lower;
      if (!['yes', 'no', 'ask', 'accept-new'].includes(mapped)) throw new CopyIdExit(`command-line line 0: unsupported option "${value}".`, 255);
      settings.strictHostKeyChecking = mapped as StrictHostKeyChecking;
      break;
    }
    case 'userknownhostsfile': settings.userKnownHostsFiles = value.split(/\s+/).map(expandTilde); break;
    case 'identityfile': settings.identityFiles.push(expandTilde(value)); break;
    case 'identitiesonly': settings.identitiesOnly = yesNo(keyword, value); break;
    case 'identityagent': settings.identityAgent = value; break;
    case 'preferredauthentications': settings.preferredAuthentications = value.split(','); break;
    case 'passwordauthentication': settings.passwordAuthentication = yesNo(keyword, value); break;
    case 'pubkeyauthentication': settings.pubkeyAuthentication = yesNo(keyword, value); break;
    case 'batchmode': settings.batchMode = yesNo(keyword, value); break;
    case 'connecttimeout': settings.connectTimeout = Number(value) || undefined; break;
    case 'numberofpasswordprompts': settings.numberOfPasswordPrompts = Math.max(0, Number(value) || 0); break;
    default:
      // Options that only change ssh's behaviour in ways copy-id does not depend on are accepted and ignored.
      break;
  }
}

/** Quotes a word for sh the way ssh-copy-id prints it ('…' with ' as '\''). */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

function parseArguments(argv: string[]): CopyIdInvocation {
  const settings: LoginSettings = {
    user: undefined,
    port: 22,
    strictHostKeyChecking: 'ask',
    userKnownHostsFiles: [join(sshDir(), 'known_hosts'), join(sshDir(), 'known_hosts2')],
    identityFiles: [],
    identitiesOnly: false,
    identityAgent: undefined,
    preferredAuthentications: undefined,
    passwordAuthentication: true,
    pubkeyAuthentication: true,
    batchMode: false,
    connectTimeout: undefined,
    numberOfPasswordPrompts: 3,
  };
  const invocation = { identityFile: undefined as string | undefined, force: false, dryRun: false, sshOptions: [] as string[] };
  let parsed;
  try {
    parsed = getopt(argv, 'fhi:no:p:?');
  } catch (error) {
    if (error instanceof GetoptError) throw new CopyIdExit(`${PROGRAM}: ${error.message}\n${USAGE.trimEnd()}`);
    throw error;
  }
  let portFromFlag: number | undefined;
  for (const [flag, value] of parsed.options) {
    switch (flag) {
      case 'f': invocation.force = true; break;
      case 'n': invocation.dryRun = true; break;
      case 'h':
      case '?': throw new CopyIdExit(USAGE.trimEnd(), 0);
      case 'i':
        if (invocation.identityFile !== undefined) throw new CopyIdExit(`\n${PROGRAM}: ERROR: -i option must not be specified more than once\n`);
        invocation.identityFile = expandTilde(value!);
        break;
      case 'o':
        applyOption(settings, value!);
        invocation.sshOptions.push(`-o ${shellQuote(value!)}`);
        break;
      case 'p':
        applyOption(settings, `Port=${value}`);
        portFromFlag = settings.port;
        invocation.sshOptions.push(`-p ${shellQuote(value!)}`);
        break;
    }
  }
  // As in ssh, the command-line -p wins over -o Port (first obtained value wins; -p is applied first).
  if (portFromFlag !== undefined) settings.port = portFromFlag;
  if (parsed.operands.length === 0) throw new CopyIdExit(`${PROGRAM}: ERROR: No host specified\n${USAGE.trimEnd()}`);
  if (parsed.operands.length > 1) {
    throw new CopyIdExit(`${PROGRAM}: ERROR: Too many arguments.  Expecting a target hostname, got: ${argv.join(' ')}\n\n${USAGE.trimEnd()}`);
  }
  return { ...invocation, destination: parsed.operands[0]!, settings };
}

function splitDestination(destination: string, settings: LoginSettings): { user: string; host: string } {
  const at = destination.lastIndexOf('@');
  const host = at >= 0 ? destination.slice(at + 1) : destination;
  const user = at >= 0 ? destination.slice(0, at) : (settings.user ?? userInfo().username);
  return { user, host: host.replace(/^\[(.*)\]$/, '$1') };
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
    const invocation = parseArguments(argv);
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
