/** `tether copy-id`'s command line: ssh-copy-id's flags, and the ssh -o keywords it honours. */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { getopt, GetoptError } from './getopt.ts';
import type { StrictHostKeyChecking } from '../client/host-key-policy.ts';

export function sshDir(): string {
  return join(homedir(), '.ssh');
}

export const PROGRAM = 'tether copy-id';
const USAGE = `Usage: ${PROGRAM} [-h|-?|-f|-n] [-i [identity_file]] [-p port] [[-o <ssh -o options>] ...] [user@]hostname
\t-f: force mode -- copy keys without trying to check if they are already installed
\t-n: dry run    -- no keys are actually copied
\t-h|-?: print this help
`;

/** Ends the command with `status` after printing `message` on stderr. */
export class CopyIdExit extends Error {
  override readonly name = 'CopyIdExit';
  readonly status: number;
  constructor(message: string, status = 1) {
    super(message);
    this.status = status;
  }
}

export interface CopyIdInvocation {
  identityFile: string | undefined;
  force: boolean;
  dryRun: boolean;
  /** Options as given, for the "Now try logging into the machine" line. */
  sshOptions: string[];
  destination: string;
  settings: LoginSettings;
}

/** The subset of ssh_config that copy-id honours from -p and -o. */
export interface LoginSettings {
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

export function expandTilde(path: string): string {
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
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

export function parseCopyIdArguments(argv: string[]): CopyIdInvocation {
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

export function splitDestination(destination: string, settings: LoginSettings): { user: string; host: string } {
  const at = destination.lastIndexOf('@');
  const host = at >= 0 ? destination.slice(at + 1) : destination;
  const user = at >= 0 ? destination.slice(0, at) : (settings.user ?? userInfo().username);
  return { user, host: host.replace(/^\[(.*)\]$/, '$1') };
}
