/**
 * `tether add`: ssh-add(1). Adds keys to the agent named by SSH_AUTH_SOCK, lists, removes, locks and
 * unlocks it, with ssh-add 9.2's messages and exit statuses (0 ok, 1 failure, 2 no agent).
 *
 *   tether add [-cDdkLlqvXx] [-E fingerprint_hash] [-t life] [file ...]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { getopt, GetoptError } from './getopt.ts';
import { readSecret } from './prompt.ts';
import { parseLifetime } from './agent.ts';
import { AgentClient, AgentConnectError, connectAgent, type AgentIdentity } from '../agent/agent-client.ts';
import { checkPrivateKeyPermissions, UnprotectedPrivateKeyError } from '../keys/key-files.ts';
import { isPrivateKeyEncrypted, parsePrivateKey, readPublicKeyFromPrivate } from '../keys/parse-private-key.ts';
import { parsePublicKeyLine } from '../keys/public-key.ts';
import { fingerprint, isFingerprintHash, keyTypeLabel, type FingerprintHash } from '../keys/fingerprint.ts';
import { WrongPassphraseError, type PublicKey } from '../keys/types.ts';
import type { SshPrivateKey } from '../keys/private-key.ts';

const USAGE = `usage: tether add [-cDdkLlqvXx] [-E fingerprint_hash] [-t life] [file ...]
`;

/** ssh-add's default identities (~/.ssh/id_*), in its order. */
const DEFAULT_KEY_NAMES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'];

export interface AddIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly status: number;
  constructor(message: string, status = 1) {
    super(message);
    this.status = status;
  }
}

type Action = 'add' | 'delete' | 'deleteAll' | 'list' | 'listKeys' | 'lock' | 'unlock';

interface AddInvocation {
  action: Action;
  confirm: boolean;
  quiet: boolean;
  lifetime: number;
  hash: FingerprintHash;
  files: string[];
}

function parseArguments(argv: string[]): AddInvocation {
  const invocation: AddInvocation = { action: 'add', confirm: false, quiet: false, lifetime: 0, hash: 'sha256', files: [] };
  const exclusive = new Set<Action>();
  const { options, operands } = getopt(argv, 'cDdE:kLlqt:vXx');
  for (const [flag, value] of options) {
    switch (flag) {
      case 'c': invocation.confirm = true; break;
      case 'D': exclusive.add('deleteAll'); invocation.action = 'deleteAll'; break;
      case 'd': if (invocation.action === 'add') invocation.action = 'delete'; break;
      case 'E':
        if (!isFingerprintHash(value!)) throw new UsageError(`Invalid hash algorithm "${value}"`, 255);
        invocation.hash = value;
        break;
      case 'k': break; // "key only": we never load certificates, so this is what we always do.
      case 'v': break;
      case 'L': exclusive.add('listKeys'); invocation.action = 'listKeys'; break;
      case 'l': exclusive.add('list'); invocation.action = 'list'; break;
      case 'q': invocation.quiet = true; break;
      case 't':
        try {
          invocation.lifetime = parseLifetime(value!);
        } catch {
          throw new UsageError('Invalid lifetime');
        }
        break;
      case 'X': exclusive.add('unlock'); invocation.action = 'unlock'; break;
      case 'x': exclusive.add('lock'); invocation.action = 'lock'; break;
    }
  }
  // ssh-add counts -x/-X as one action, -l/-L as one, and -D; more than one kind is refused.
  const kinds = new Set([...exclusive].map((action) => (action === 'unlock' ? 'lock' : action === 'listKeys' ? 'list' : action)));
  if (kinds.size > 1) throw new UsageError('Invalid combination of actions', 255);
  invocation.files = operands;
  return invocation;
}

/**
 * read_passphrase(RP_ALLOW_STDIN) as ssh-add uses it: SSH_ASKPASS when SSH_ASKPASS_REQUIRE=force, or when
 * stdin is not a terminal and a display is available; otherwise the terminal, or stdin when it is not one.
 * Resolves '' when nothing was entered (end of input, askpass cancelled).
 */
export async function readPassphrase(prompt: string, io: Pick<AddIO, 'stdin' | 'stderr' | 'env'>): Promise<string> {
  const require = (io.env.SSH_ASKPASS_REQUIRE ?? '').toLowerCase();
  const display = Boolean(io.env.DISPLAY || io.env.WAYLAND_DISPLAY);
  const useAskpass = require === 'force' || (require !== 'never' && !io.stdin.isTTY && display);
  if (useAskpass) {
    const program = io.env.SSH_ASKPASS || '/usr/bin/ssh-askpass';
    const result = spawnSync(program, [prompt], { encoding: 'utf8', env: io.env, stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
    if (result.status !== 0 || typeof result.stdout !== 'string') return '';
    return result.stdout.replace(/\r?\n$/, '');
  }
  return readSecret(prompt, { input: io.stdin, output: io.stderr });
}

export async function addMain(argv: string[], partialIO: Partial<AddIO> = {}): Promise<number> {
  const io: AddIO = {
    stdin: partialIO.stdin ?? process.stdin,
    stdout: partialIO.stdout ?? process.stdout,
    stderr: partialIO.stderr ?? process.stderr,
    env: partialIO.env ?? process.env,
  };
  let invocation: AddInvocation;
  try {
    invocation = parseArguments(argv);
  } catch (error) {
    if (error instanceof GetoptError) {
      io.stderr.write(`${error.message}\n${USAGE}`);
      return 1;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n`);
      return error.status;
    }
    throw error;
  }

  const socketPath = io.env.SSH_AUTH_SOCK;
  if (!socketPath) {
    io.stderr.write('Could not open a connection to your authentication agent.\n');
    return 2;
  }
  let agent: AgentClient;
  try {
    agent = await connectAgent(socketPath);
  } catch (error) {
    io.stderr.write(`Error connecting to agent: ${(error as AgentConnectError).message}\n`);
    return 2;
  }
  try {
    return await new AddCommand(agent, invocation, io).run();
  } finally {
    agent.close();
  }
}

class AddCommand {
  private readonly agent: AgentClient;
  private readonly invocation: AddInvocation;
  private readonly io: AddIO;
  /** The last passphrase that worked, tried first on the next file (ssh-add does the same). */
  private lastPassphrase: string | undefined;

  constructor(agent: AgentClient, invocation: AddInvocation, io: AddIO) {
    this.agent = agent;
    this.invocation = invocation;
    this.io = io;
  }

  private say(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  async run(): Promise<number> {
    switch (this.invocation.action) {
      case 'lock':
      case 'unlock':
        return this.lockAgent(this.invocation.action === 'lock');
      case 'list':
      case 'listKeys':
        return this.list(this.invocation.action === 'list');
      case 'deleteAll':
        return this.deleteAll();
      default:
        return this.eachFile();
    }
  }

  private async lockAgent(lock: boolean): Promise<number> {
    const first = await readPassphrase('Enter lock password: ', this.io);
    if (lock) {
      const again = await readPassphrase('Again: ', this.io);
      if (first !== again) {
        this.say('Passwords do not match.');
        return 1;
      }
    }
    try {
      if (lock) await this.agent.lock(first);
      else await this.agent.unlock(first);
    } catch (error) {
      this.say(`Failed to ${lock ? '' : 'un'}lock agent: ${agentErrorText(error)}`);
      return 1;
    }
    this.say(`Agent ${lock ? '' : 'un'}locked.`);
    return 0;
  }

  private async list(withFingerprints: boolean): Promise<number> {
    let identities: AgentIdentity[];
    try {
      identities = await this.agent.list();
    } catch (error) {
      this.say(`error fetching identities: ${agentErrorText(error)}`);
      return 1;
    }
    if (identities.length === 0) {
      this.io.stdout.write('The agent has no identities.\n');
      return 1;
    }
    for (const identity of identities) {
      this.io.stdout.write(withFingerprints ? `${fingerprintLine(identity, this.invocation.hash)}\n` : `${publicLine(identity)}\n`);
    }
    return 0;
  }

  private async deleteAll(): Promise<number> {
    try {
      await this.agent.removeAll();
    } catch {
      this.say('Failed to remove all identities.');
      return 1;
    }
    if (!this.invocation.quiet) this.say('All identities removed.');
    return 0;
  }

  /** Adds (or with -d removes) each named file, or the default identities that exist. */
  private async eachFile(): Promise<number> {
    const deleting = this.invocation.action === 'delete';
    const explicit = this.invocation.files.length > 0;
    const files = explicit ? this.invocation.files : DEFAULT_KEY_NAMES.map((name) => `${homedir()}/.ssh/${name}`).filter((path) => existsSync(path));
    let status = 0;
    let done = 0;
    for (const file of files) {
      const ok = deleting ? await this.deleteFile(file) : await this.addFile(file);
      if (ok) done++;
      else status = 1;
    }
    if (!explicit && done === 0) status = 1;
    return status;
  }

  private async deleteFile(path: string): Promise<boolean> {
    const loaded = loadPublicHalf(path);
    if (!loaded.key) {
      this.io.stdout.write(`Bad key file ${path}: ${loaded.error}\n`);
      return false;
    }
    try {
      await this.agent.remove(loaded.key);
    } catch (error) {
      this.say(`Could not remove identity "${path}": ${agentErrorText(error)}`);
      return false;
    }
    if (!this.invocation.quiet) this.say(`Identity removed: ${path} ${keyTypeLabel(loaded.key.type)} (${loaded.comment || 'no comment'})`);
    return true;
  }

  private async addFile(path: string): Promise<boolean> {
    let data: Buffer;
    try {
      if (statSync(path).isDirectory()) throw Object.assign(new Error('Is a directory'), { code: 'EISDIR' });
      checkPrivateKeyPermissions(path);
      data = readFileSync(path);
    } catch (error) {
      if (error instanceof UnprotectedPrivateKeyError) this.say(error.message);
      else this.say(`${path}: ${errnoText(error as NodeJS.ErrnoException)}`);
      return false;
    }
    const key = await this.loadKey(path, data);
    if (!key) return false;
    const comment = key.comment || path;
    try {
      await this.agent.add(key, { comment, lifetime: this.invocation.lifetime, confirm: this.invocation.confirm });
    } catch (error) {
      this.say(`Could not add identity "${path}": ${agentErrorText(error)}`);
      return false;
    }
    if (!this.invocation.quiet) {
      this.say(`Identity added: ${path} (${comment})`);
      if (this.invocation.lifetime) this.say(`Lifetime set to ${this.invocation.lifetime} seconds`);
      if (this.invocation.confirm) this.say('The user must confirm each use of the key');
    }
    return true;
  }

  /** Parses the key, asking for its passphrase until it is right or the user gives up (empty answer). */
  private async loadKey(path: string, data: Buffer): Promise<SshPrivateKey | undefined> {
    const loadError = (error: unknown) => this.say(`Error loading key "${path}": ${keyErrorText(error)}`);
    let encrypted: boolean;
    try {
      encrypted = isPrivateKeyEncrypted(data);
      if (!encrypted) return parsePrivateKey(data);
    } catch (error) {
      loadError(error);
      return undefined;
    }
    if (this.lastPassphrase !== undefined) {
      try {
        return parsePrivateKey(data, this.lastPassphrase);
      } catch {
        // Not the same passphrase as the previous file's: ask.
      }
    }
    const suffix = this.invocation.confirm ? ' (will confirm each use)' : '';
    let prompt = `Enter passphrase for ${path}${suffix}: `;
    let wrongOnce = false;
    for (;;) {
      const passphrase = await readPassphrase(prompt, this.io);
      if (passphrase === '') {
        // ssh-add gives up silently on an empty answer; after a wrong passphrase we say why, on one line.
        if (wrongOnce) {
          if (!this.io.stdin.isTTY) this.io.stderr.write('\n');
          loadError(new WrongPassphraseError('incorrect passphrase supplied to decrypt private key'));
        }
        return undefined;
      }
      try {
        const key = parsePrivateKey(data, passphrase);
        this.lastPassphrase = passphrase;
        return key;
      } catch (error) {
        if (!(error instanceof WrongPassphraseError)) {
          loadError(error);
          return undefined;
        }
      }
      wrongOnce = true;
      prompt = `Bad passphrase, try again for ${path}${suffix}: `;
    }
  }
}

/** `bits SHA256:… comment (TYPE)`, ssh-add -l's line. */
function fingerprintLine(identity: AgentIdentity, hash: FingerprintHash): string {
  const key = identity.publicKey;
  const bits = key ? key.bits : 0;
  const label = key ? keyTypeLabel(key.type) : 'UNKNOWN';
  return `${bits} ${fingerprint(identity.blob, hash)} ${identity.comment} (${label})`;
}

/** `type base64 comment`, ssh-add -L's line; works for key types we cannot parse, too. */
function publicLine(identity: AgentIdentity): string {
  const typeLength = identity.blob.length >= 4 ? identity.blob.readUInt32BE(0) : 0;
  const type = identity.blob.subarray(4, 4 + typeLength).toString('latin1');
  return `${type} ${identity.blob.toString('base64')} ${identity.comment}`;
}

/** The public key to remove for -d: `file` as a .pub line, `file.pub`, or the private file's public part. */
function loadPublicHalf(path: string): { key?: PublicKey; comment?: string; error?: string } {
  for (const candidate of [path, `${path}.pub`]) {
    try {
      const line = readFileSync(candidate, 'utf8').split('\n').find((text) => text.trim() !== '');
      const parsed = parsePublicKeyLine(line ?? '');
      return { key: parsed.key, comment: parsed.comment };
    } catch {
      // Try the next form.
    }
  }
  try {
    return { key: readPublicKeyFromPrivate(readFileSync(path)), comment: undefined };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { error: code ? errnoText(error as NodeJS.ErrnoException) : keyErrorText(error) };
  }
}

/** OpenSSH's ssh_err() text for the errors an agent request can give. */
function agentErrorText(error: unknown): string {
  const name = (error as Error).name;
  if (name === 'AgentRequestError') return 'agent refused operation';
  if (name === 'AgentConnectionClosedError') return 'communication with agent failed';
  return (error as Error).message;
}

function keyErrorText(error: unknown): string {
  const message = (error as Error).message;
  // Our key errors start with OpenSSH's wording ("invalid format", "incorrect passphrase …"); keep it short.
  return message.split('\n')[0]!;
}

function errnoText(error: NodeJS.ErrnoException): string {
  const texts: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EISDIR: 'Is a directory',
  };
  return (error.code && texts[error.code]) ?? error.message;
}
