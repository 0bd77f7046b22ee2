/**
 * `tether ssh`: ssh(1)'s command line on top of the library. Flags become configuration options exactly as
 * ssh does it (a flag is an option given first, so it wins), the configuration is resolved, and the session
 * runs with OpenSSH's messages and exit statuses (the remote status, or 255 on any error of our own).
 */
import { homedir, userInfo } from 'node:os';
import { getopt, GetoptError } from './getopt.ts';
import { connect, ConnectError, ServerTimeoutError, type SshClient } from '../client/client.ts';
import { hostKeyVerifier, HostKeyVerificationError, preferKnownHostKeyTypes, type StrictHostKeyChecking } from '../client/host-key-policy.ts';
import { defaultIdentityFiles, identityFileKeys } from '../client/identities.ts';
import { AuthenticationError } from '../auth/client-auth.ts';
import { DisconnectError, ProtocolError } from '../wire/errors.ts';
import { MacError } from '../crypto/cipher/types.ts';
import { askQuestion, askSecret } from './ssh-terminal.ts';
import { runInteractiveSession } from './ssh-session.ts';

/** ssh's optstring (OpenSSH 9.2 ssh.c). */
const OPTSTRING = '1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy';

const USAGE = `usage: tether ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface] [-b bind_address]
           [-c cipher_spec] [-D [bind_address:]port] [-E log_file]
           [-e escape_char] [-F configfile] [-I pkcs11] [-i identity_file]
           [-J destination] [-L address] [-l login_name] [-m mac_spec]
           [-O ctl_cmd] [-o option] [-p port] [-Q query_option] [-R address]
           [-S ctl_path] [-W host:port] [-w local_tun[:remote_tun]]
           destination [command [argument ...]]
`;

export interface SshInvocation {
  destination: string;
  command: string[];
  /** Options in ssh_config syntax, in command-line order: flags translated the way ssh.c does. */
  options: string[];
  configFile?: string;
  ttyFlag: number;
  noTty: boolean;
  verbosity: number;
  quiet: boolean;
  stdinNull: boolean;
  noCommand: boolean;
  background: boolean;
  printConfig: boolean;
}

/** Parses ssh's command line. Throws GetoptError with a usage message on bad flags. */
export function parseSshArguments(argv: string[]): SshInvocation {
  const parsed = getopt(argv, OPTSTRING);
  const invocation: SshInvocation = {
    destination: '',
    command: [],
    options: [],
    ttyFlag: 0,
    noTty: false,
    verbosity: 0,
    quiet: false,
    stdinNull: false,
    noCommand: false,
    background: false,
    printConfig: false,
  };
  const option = (text: string) => invocation.options.push(text);
  for (const [flag, value] of parsed.options) {
    switch (flag) {
      case '4': option('AddressFamily inet'); break;
      case '6': option('AddressFamily inet6'); break;
      case 'A': option('ForwardAgent yes'); break;
      case 'a': option('ForwardAgent no'); break;
      case 'C': option('Compression yes'); break;
      case 'c': option(`Ciphers ${value}`); break;
      case 'm': option(`MACs ${value}`); break;
      case 'D': option(`DynamicForward ${value}`); break;
      case 'L': option(`LocalForward ${splitForward(value!)}`); break;
      case 'R': option(`RemoteForward ${splitForward(value!)}`); break;
      case 'E': option(`LogFile ${value}`); break;
      case 'e': option(`EscapeChar ${value}`); break;
      case 'F': invocation.configFile = value; break;
      case 'G': invocation.printConfig = true; break;
      case 'i': option(`IdentityFile ${value}`); break;
      case 'J': option(`ProxyJump ${value}`); break;
      case 'l': option(`User ${value}`); break;
      case 'p': option(`Port ${value}`); break;
      case 'o': option(value!); break;
      case 'q': invocation.quiet = true; option('LogLevel QUIET'); break;
      case 'v': invocation.verbosity++; break;
      case 't': invocation.ttyFlag++; break;
      case 'T': invocation.noTty = true; break;
      case 'n': invocation.stdinNull = true; break;
      case 'N': invocation.noCommand = true; option('SessionType none'); break;
      case 'f': invocation.background = true; option('ForkAfterAuthentication yes'); break;
      case 's': option('SessionType subsystem'); break;
      case 'W': option(`StdinNull yes`); invocation.stdinNull = true; invocation.noCommand = true; break;
      case 'x': option('ForwardX11 no'); break;
      case 'X': option('ForwardX11 yes'); break;
      case 'Y': option('ForwardX11 yes'); option('ForwardX11Trusted yes'); break;
      case 'V':
        process.stderr.write('Tether_0.1 (OpenSSH-compatible), node ' + process.versions.node + '\n');
        throw new EarlyExit(0);
      default:
        // Accepted for compatibility; not implemented yet (-B -b -g -I -K -k -M -O -Q -S -w -y -1 -2).
        break;
    }
  }
  if (invocation.verbosity > 0) option(`LogLevel DEBUG${Math.min(invocation.verbosity, 3)}`);
  if (invocation.ttyFlag > 0) option(invocation.ttyFlag > 1 ? 'RequestTTY force' : 'RequestTTY yes');
  if (invocation.noTty) option('RequestTTY no');
  const [destination, ...command] = parsed.operands;
  if (!destination) throw new GetoptError(USAGE.trimEnd());
  invocation.destination = destination;
  invocation.command = command;
  return invocation;
}

/** Turns -L/-R's `[bind:]port:host:hostport` into the config form `[bind:]port host:hostport`. */
function splitForward(spec: string): string {
  const target = /:((?:\[[^\]]*\]|[^:[\]]+):\d+|\/[^:]*)$/.exec(spec);
  if (!target || target.index === 0) return spec;
  return `${spec.slice(0, target.index)} ${target[1]}`;
}

/** Thrown to leave with a status before connecting (e.g. -V, -G). */
class EarlyExit extends Error {
  readonly status: number;
  constructor(status: number) {
    super('exit');
    this.status = status;
  }
}

/** Splits `user@host`, `host`, `ssh://[user@]host[:port]`. */
export function parseDestination(destination: string): { user?: string; host: string; port?: number } {
  const uri = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(destination);
  if (uri) {
    return { user: uri[1] ? decodeURIComponent(uri[1]) : undefined, host: uri[2]!.replace(/^\[|\]$/g, ''), port: uri[3] ? Number(uri[3]) : undefined };
  }
  const at = destination.lastIndexOf('@');
  return at > 0 ? { user: destination.slice(0, at), host: destination.slice(at + 1) } : { host: destination };
}

export async function sshMain(argv: string[]): Promise<number> {
  let invocation: SshInvocation;
  try {
    invocation = parseSshArguments(argv);
  } catch (error) {
    if (error instanceof EarlyExit) return error.status;
    process.stderr.write(`${(error as Error).message}\n`);
    if (!(error as Error).message.startsWith('usage:')) process.stderr.write(USAGE);
    return 255;
  }
  const { resolveClientSettings } = await import('./ssh-settings.ts');
  let settings;
  try {
    settings = await resolveClientSettings(invocation);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 255;
  }
  if (invocation.printConfig) {
    process.stdout.write(settings.dashG());
    return 0;
  }

  const log = (level: number, message: string) => {
    if (settings.logLevel >= level) process.stderr.write(`${message}\r\n`.replace(/\r?\n$/, '\n'));
  };
  const debug = settings.logLevel >= 5 ? (message: string) => process.stderr.write(`debug1: ${message}\n`) : undefined;
  const host = settings.hostname;
  const port = settings.port;
  const knownHosts = {
    host: settings.hostKeyAlias ?? host,
    port,
    userKnownHostsFiles: settings.userKnownHostsFiles,
    globalKnownHostsFiles: settings.globalKnownHostsFiles,
  };

  let client: SshClient;
  try {
    client = await connect({
      host,
      port,
      username: settings.user,
      algorithms: {
        kex: settings.kexAlgorithms,
        cipher: settings.ciphers,
        mac: settings.macs,
        hostKey: preferKnownHostKeyTypes(settings.hostKeyAlgorithms, knownHosts),
        compression: settings.compression ? ['zlib@openssh.com', 'none'] : ['none', 'zlib@openssh.com'],
      },
      verifyHostKey: hostKeyVerifier({
        ...knownHosts,
        strict: settings.strictHostKeyChecking,
        hashKnownHosts: settings.hashKnownHosts,
        ask: settings.batchMode ? undefined : askQuestion,
        warn: (message) => log(1, message),
      }),
      auth: {
        methods: settings.preferredAuthentications,
        keys: () =>
          settings.pubkeyAuthentication
            ? identityFileKeys(settings.identityFiles, {
                passphrase: settings.batchMode ? undefined : askSecret,
                attempts: settings.numberOfPasswordPrompts,
                warn: (message) => log(2, message),
                debug,
              })
            : [],
        password:
          settings.passwordAuthentication && !settings.batchMode
            ? () => askSecret(`${settings.user}@${host}'s password: `)
            : undefined,
        keyboardInteractive:
          settings.kbdInteractiveAuthentication && !settings.batchMode
            ? async (name, instruction, prompts) => {
                if (name) log(3, name);
                if (instruction) log(3, instruction);
                const answers: string[] = [];
                for (const prompt of prompts) {
                  const answer = prompt.echo ? await askQuestion(prompt.prompt) : await askSecret(prompt.prompt);
                  if (answer === undefined) return undefined;
                  answers.push(answer);
                }
                return answers;
              }
            : undefined,
        passwordAttempts: settings.numberOfPasswordPrompts,
        onBanner: (text) => log(3, text.replace(/\n$/, '')),
      },
      connectTimeout: settings.connectTimeout,
      keepaliveInterval: settings.serverAliveInterval,
      keepaliveCountMax: settings.serverAliveCountMax,
      tcpKeepAlive: settings.tcpKeepAlive,
      debug,
    });
  } catch (error) {
    log(1, describeFailure(error as Error, settings.user, host, port));
    return 255;
  }

  try {
    return await runInteractiveSession(client, {
      command: invocation.command.join(' ') || settings.remoteCommand,
      requestTty: settings.requestTty,
      noCommand: invocation.noCommand,
      stdinNull: invocation.stdinNull,
      env: settings.environment,
      escapeChar: settings.escapeChar,
      host,
      log,
    });
  } catch (error) {
    log(1, describeFailure(error as Error, settings.user, host, port));
    return 255;
  }
}

/** OpenSSH's wording for each way a connection can fail. */
export function describeFailure(error: Error, user: string, host: string, port: number): string {
  const where = `${host} port ${port}`;
  if (error instanceof ConnectError) return `ssh: ${error.message}`;
  if (error instanceof HostKeyVerificationError) return error.message;
  if (error instanceof AuthenticationError) return `${user}@${host}: ${error.message}`;
  if (error instanceof ServerTimeoutError) return error.message;
  if (error instanceof MacError) return `Corrupted MAC on input.\nssh_dispatch_run_fatal: Connection to ${where}: message authentication code incorrect`;
  if (error instanceof DisconnectError) {
    if (error.byPeer && error.reason === 10) return `Connection closed by ${where}`;
    if (error.byPeer) return `${error.message.replace('peer', where)}\nDisconnected from ${where}`;
    return error.message;
  }
  if (error instanceof ProtocolError) {
    if (error.message.startsWith('no matching')) return `Unable to negotiate with ${where}: ${error.message}`;
    if (error.message.startsWith('Bad packet length')) return `${error.message}\nssh_dispatch_run_fatal: Connection to ${where}: Connection corrupted`;
    if (error.reason === 8) return `kex_exchange_identification: ${error.message}`;
    return `ssh_dispatch_run_fatal: Connection to ${where}: ${error.message}`;
  }
  return `ssh: ${error.message}`;
}

export const DEFAULT_SSH_DIR = () => `${homedir()}/.ssh`;
export const LOCAL_USER = () => userInfo().username;
export type { StrictHostKeyChecking };
export { defaultIdentityFiles };
