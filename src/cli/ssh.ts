/**
 * `tether ssh`: ssh(1)'s command line on top of the library. Flags become configuration options exactly as
 * ssh does it (a flag is an option given first, so it wins), the configuration is resolved, and the session
 * runs with OpenSSH's messages and exit statuses (the remote status, or 255 on any error of our own).
 */
import { getopt, GetoptError } from './getopt.ts';
import type { SshFlags } from '../config/ssh/index.ts';
import { connect, ConnectError, ServerTimeoutError, type ConnectOptions, type SshClient } from '../client/client.ts';
import { hostKeyVerifier, HostKeyVerificationError, type StrictHostKeyChecking } from '../client/host-key-policy.ts';
import { identityFileKeys } from '../client/identities.ts';
import { acceptForwardedAgent } from '../client/agent-forwarding.ts';
import { startX11Forwarding } from '../client/x11-forwarding.ts';
import { addKeyToAgent, agentSocketPath, loadAgentKeys, selectAuthKeys } from '../agent/index.ts';
import { AuthenticationError, type AuthKey } from '../auth/client-auth.ts';
import { DisconnectError, ProtocolError } from '../wire/errors.ts';
import { MacError } from '../crypto/cipher/types.ts';
import { askQuestion, askSecret } from './ssh-terminal.ts';
import { runInteractiveSession } from './ssh-session.ts';
import { resolveClientSettings, type ClientSettings } from './ssh-settings.ts';
import { openProxyStream } from './ssh-proxy.ts';
import { ForwardingError, startForwarding, type ActiveForwarding } from './ssh-forwarding.ts';
import { goToBackground } from './ssh-background.ts';

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
  /** `-o` options, in order. */
  options: string[];
  flags: SshFlags;
  configFile?: string;
  printConfig: boolean;
}

/** Parses ssh's command line into config-library flags. Throws GetoptError with a usage message on bad flags. */
export function parseSshArguments(argv: string[]): SshInvocation {
  const parsed = getopt(argv, OPTSTRING);
  const flags: SshFlags = {};
  const invocation: SshInvocation = { destination: '', command: [], options: [], flags, printConfig: false };
  const push = (list: 'localForwards' | 'remoteForwards' | 'dynamicForwards' | 'identityFiles', value: string) =>
    (flags[list] ??= []).push(value);
  for (const [flag, value] of parsed.options) {
    switch (flag) {
      case '4': flags.addressFamily = 'inet'; break;
      case '6': flags.addressFamily = 'inet6'; break;
      case 'A': flags.forwardAgent = true; break;
      case 'a': flags.forwardAgent = false; break;
      case 'B': flags.bindInterface = value; break;
      case 'b': flags.bindAddress = value; break;
      case 'C': flags.compression = true; break;
      case 'c': flags.ciphers = value; break;
      case 'D': push('dynamicForwards', value!); break;
      case 'e': flags.escapeChar = value; break;
      case 'F': invocation.configFile = value; break;
      case 'f': flags.forkAfterAuthentication = true; break;
      case 'G': invocation.printConfig = true; break;
      case 'g': flags.gatewayPorts = true; break;
      case 'i': push('identityFiles', value!); break;
      case 'J': flags.proxyJump = value; break;
      case 'K': flags.gssapi = true; break;
      case 'k': flags.gssapi = false; break;
      case 'L': push('localForwards', value!); break;
      case 'l': flags.user = value; break;
      case 'M': flags.controlMaster = (flags.controlMaster ?? 0) + 1; break;
      case 'm': flags.macs = value; break;
      case 'N': flags.noSession = true; break;
      case 'n': flags.stdinNull = true; break;
      case 'o': invocation.options.push(value!); break;
      case 'p': {
        const port = Number(value);
        if (!/^\d+$/.test(value!) || port < 1 || port > 65535) throw new GetoptError(`Bad port '${value}'`, 'p');
        flags.port = port;
        break;
      }
      case 'q': flags.quiet = true; break;
      case 'R': push('remoteForwards', value!); break;
      case 'S': flags.controlPath = value; break;
      case 's': flags.subsystem = true; break;
      case 'T': flags.disableTTY = true; break;
      case 't': flags.forceTTY = (flags.forceTTY ?? 0) + 1; break;
      case 'v': flags.verbose = (flags.verbose ?? 0) + 1; break;
      case 'W': flags.stdioForward = value; break;
      case 'w': flags.tunnelDevice = value; break;
      case 'X': flags.forwardX11 = true; break;
      case 'x': flags.forwardX11 = false; break;
      case 'Y': flags.forwardX11Trusted = true; break;
      case 'V':
        process.stderr.write(`Tether_0.1 (OpenSSH_9.2 compatible), Node.js ${process.versions.node}\n`);
        throw new EarlyExit(0);
      default:
        // -1 -2 -I -O -Q -y: accepted like ssh, no effect here.
        break;
    }
  }
  const [destination, ...command] = parsed.operands;
  if (!destination) throw new GetoptError(USAGE.trimEnd(), '');
  invocation.destination = destination;
  invocation.command = command;
  return invocation;
}

/** Thrown to leave with a status before connecting (e.g. -V, -G). */
class EarlyExit extends Error {
  readonly status: number;
  constructor(status: number) {
    super('exit');
    this.status = status;
  }
}

export async function sshMain(argv: string[]): Promise<number> {
  let invocation: SshInvocation;
  let settings: ClientSettings;
  try {
    invocation = parseSshArguments(argv);
    settings = await resolveClientSettings(invocation);
  } catch (error) {
    if (error instanceof EarlyExit) return error.status;
    const message = (error as Error).message;
    if (error instanceof GetoptError) process.stderr.write(`${message}\n`);
    else writeLog(message);
    if (error instanceof GetoptError && !message.startsWith('usage:')) process.stderr.write(USAGE);
    return 255;
  }
  if (invocation.printConfig) {
    process.stdout.write(settings.dashG());
    return 0;
  }
  const config = settings.resolved;
  const log = (level: number, message: string) => {
    if (settings.logLevel >= level) writeLog(message);
  };
  const debug = settings.logLevel >= 5 ? (message: string) => writeLog(`debug1: ${message}`) : undefined;
  const host = config.hostname;
  const port = config.port;

  // -f: the foreground process waits here while a copy of itself connects, then exits (ssh-background.ts).
  const background = config.forkAfterAuthentication ? await goToBackground(config) : undefined;
  if (background?.role === 'parent') return background.status;

  let client: SshClient;
  try {
    client = await connect({
      ...buildConnectOptions(settings, log, debug),
      // ProxyJump / ProxyCommand give a ready byte stream; otherwise connect() opens TCP itself.
      stream: await openProxyStream(config, { log, debug, configFile: invocation.configFile, verbose: invocation.flags.verbose }),
    });
  } catch (error) {
    log(1, describeFailure(error as Error, config.user, host, port));
    return 255;
  }

  let forwarding: ActiveForwarding | undefined;
  try {
    // -L/-R/-D and -W (ssh-forwarding.ts): forwards start before the session, as ssh does.
    forwarding = await startForwarding(client, config, { log, debug });
    if (background?.role === 'child') background.ready();
    if (forwarding.stdioForward) return await forwarding.stdioForward;
    const agentSocket = config.forwardAgent === true ? agentSocketPath(config.identityAgent) : config.forwardAgent || undefined;
    if (agentSocket) acceptForwardedAgent(client, agentSocket);
    // -X/-Y: cookies from xauth and the x11 channel handler (x11-forwarding.ts); x11-req goes on the session.
    const x11 = config.forwardX11 && !settings.noSession
      ? await startX11Forwarding(client, {
        display: process.env.DISPLAY,
        xauthLocation: config.options.xauthLocation ?? '/usr/bin/xauth',
        trusted: config.forwardX11Trusted,
        timeoutSeconds: config.forwardX11Timeout,
        log,
        debug,
      })
      : undefined;
    return await runInteractiveSession(client, {
      command: settings.command,
      subsystem: settings.subsystem,
      requestTty: config.requestTTY,
      noCommand: settings.noSession,
      stdinNull: config.stdinNull,
      env: settings.environment,
      escapeChar: config.escapeChar,
      forwardAgent: agentSocket !== undefined,
      x11,
      escapeCommandLine: config.enableEscapeCommandline ? forwarding.commandLine : undefined,
      host,
      log,
    });
  } catch (error) {
    log(1, describeFailure(error as Error, config.user, host, port));
    client.end();
    return 255;
  } finally {
    // Listeners keep the process alive: close them however the session ended.
    forwarding?.close();
  }
}

/**
 * The connect() options for a resolved configuration: algorithms, host-key policy and authentication as ssh
 * applies them. Used for the destination and for every ProxyJump hop (each with its own configuration).
 */
export function buildConnectOptions(
  settings: ClientSettings,
  log: (level: number, message: string) => void,
  debug: ((message: string) => void) | undefined,
): ConnectOptions {
  const config = settings.resolved;
  const host = config.hostname;
  const port = config.port;
  const interactive = !config.batchMode;
  return {
    host,
    port,
    username: config.user,
    algorithms: {
      kex: settings.kex,
      cipher: settings.ciphers,
      mac: settings.macs,
      hostKey: settings.hostKeyAlgorithms,
      compression: config.compression ? ['zlib@openssh.com', 'none'] : ['none', 'zlib@openssh.com'],
    },
    verifyHostKey: hostKeyVerifier({
      host: config.hostKeyAlias ?? host,
      port,
      userKnownHostsFiles: config.userKnownHostsFiles,
      globalKnownHostsFiles: config.globalKnownHostsFiles,
      strict: config.strictHostKeyChecking as StrictHostKeyChecking,
      hashKnownHosts: config.hashKnownHosts,
      checkHostIP: config.checkHostIP && !config.hostKeyAlias,
      fingerprintHash: config.fingerprintHash === 'md5' ? 'md5' : 'sha256',
      ask: interactive ? askQuestion : undefined,
      warn: (message) => log(1, message),
    }),
    auth: {
      methods: settings.authMethods,
      keys: () => (config.pubkeyAuthentication === 'no' ? [] : authenticationKeys(config, interactive, log, debug)),
      password: config.passwordAuthentication && interactive ? () => askSecret(`${config.user}@${host}'s password: `) : undefined,
      keyboardInteractive: config.kbdInteractiveAuthentication && interactive ? answerPrompts(log) : undefined,
      passwordAttempts: config.numberOfPasswordPrompts,
      onBanner: (text) => log(3, text.replace(/\n$/, '')),
    },
    connectTimeout: config.connectTimeout,
    connectionAttempts: config.connectionAttempts,
    keepaliveInterval: config.serverAliveInterval,
    keepaliveCountMax: config.serverAliveCountMax,
    tcpKeepAlive: config.tcpKeepAlive,
    rekeyLimitBytes: config.rekeyLimit.bytes || undefined,
    rekeyIntervalSeconds: config.rekeyLimit.seconds || undefined,
    debug,
  };
}

/**
 * The keys to offer, in ssh's order: the agent's (unless IdentitiesOnly), then identity files the agent does
 * not hold. A key loaded from a file is added to the agent when AddKeysToAgent says so.
 */
async function* authenticationKeys(
  config: ClientSettings['resolved'],
  interactive: boolean,
  log: (level: number, message: string) => void,
  debug: ((message: string) => void) | undefined,
): AsyncGenerator<AuthKey> {
  const agent = await loadAgentKeys({ socketPath: agentSocketPath(config.identityAgent), debug });
  try {
    const addMode = config.addKeysToAgent.mode;
    const identityFiles = identityFileKeys(config.identityFiles, {
      passphrase: interactive ? askSecret : undefined,
      attempts: config.numberOfPasswordPrompts,
      warn: (message) => log(2, message),
      debug,
      onLoaded: agent && addMode !== 'no'
        ? async (path, key) => {
            await addKeyToAgent({ client: agent.client, key, path, mode: addMode, lifetime: config.addKeysToAgent.lifetimeSeconds, ask: confirmOnTerminal, debug });
          }
        : undefined,
    });
    yield* selectAuthKeys({ agentKeys: agent?.keys ?? [], identityFiles, identitiesOnly: config.identitiesOnly });
  } finally {
    agent?.close();
  }
}

/** A yes/no question on the terminal (AddKeysToAgent ask). */
async function confirmOnTerminal(question: string): Promise<boolean> {
  return /^y(es)?$/i.test((await askQuestion(question))?.trim() ?? '');
}

/** keyboard-interactive prompts answered on the terminal, echoing only where the server allows. */
function answerPrompts(log: (level: number, message: string) => void) {
  return async (name: string, instruction: string, prompts: { prompt: string; echo: boolean }[]) => {
    if (name) log(3, name);
    if (instruction) log(3, instruction);
    const answers: string[] = [];
    for (const prompt of prompts) {
      const answer = prompt.echo ? await askQuestion(prompt.prompt) : await askSecret(prompt.prompt);
      if (answer === undefined) return undefined;
      answers.push(answer);
    }
    return answers;
  };
}

/** ssh's log lines end in CR LF (log.c), so they stay aligned when the terminal is in raw mode. */
function writeLog(message: string): void {
  process.stderr.write(`${message.replace(/\r?\n/g, '\r\n')}\r\n`);
}

/** OpenSSH's wording for each way a connection can fail. */
export function describeFailure(error: Error, user: string, host: string, port: number): string {
  const where = `${host} port ${port}`;
  if (error instanceof ConnectError) return `ssh: ${error.message}`;  // also ResolveError
  if (error instanceof ForwardingError) return error.message;
  if (error instanceof HostKeyVerificationError) return error.message;
  if (error instanceof AuthenticationError) return `${user}@${host}: ${error.message}`;
  if (error instanceof ServerTimeoutError) return error.message;
  if (error instanceof MacError) return `Corrupted MAC on input.\nssh_dispatch_run_fatal: Connection to ${where}: message authentication code incorrect`;
  if (error.message.startsWith('Bad packet length')) return `${error.message}\nssh_dispatch_run_fatal: Connection to ${where}: Connection corrupted`;
  if (error instanceof DisconnectError) {
    if (error.byPeer && error.reason === 10) return `Connection closed by ${where}`;
    if (error.byPeer) return `${error.message.replace('peer', where)}\nDisconnected from ${where}`;
    return error.message;
  }
  if (error instanceof ProtocolError) {
    if (error.message.startsWith('no matching')) return `Unable to negotiate with ${where}: ${error.message}`;
    if (error.reason === 8) return `kex_exchange_identification: ${error.message}`;
    return `ssh_dispatch_run_fatal: Connection to ${where}: ${error.message}`;
  }
  return `ssh: ${error.message}`;
}

