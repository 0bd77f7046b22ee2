/**
 * `tether server`: sshd(8)'s command line over the library server.
 *
 *   tether server [-DdeTt] [-C spec] [-E log_file] [-f config_file] [-h host_key_file] [-o option] [-p port]
 *   tether server passwd USER      set USER's password in the embedded password file
 *
 * Without -f the embedded default is used: ./.state/sshd_config when it exists (`tether demo` writes it),
 * else the built-in default configuration (loopback only, host keys in ./.state). The server always stays in
 * the foreground (-D is accepted for compatibility); -e is the default too (logs go to stderr unless -E).
 *
 * Passwords are checked against the system (/etc/shadow, through crypt(3)) when the server runs as root
 * with an explicit -f configuration, and against the embedded password file (./.state/passwd, or
 * $TETHER_PASSWORD_FILE) otherwise.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import {
  checkSshdConfig,
  dashTSettings,
  formatDashT,
  loadSshdConfig,
  parseSshdConfigText,
  ConnectionSpecError,
  SshdConfigError,
  type SshdConfig,
  type SshdConfigOverrides,
} from '../config/sshd/index.ts';
import { createServer, createLogger, defaultConfigText, loadHostKeys, HostKeyError, runningAsRoot, type Server } from '../server/index.ts';
import { AlgorithmConfigError } from '../server/algorithms.ts';
import type { PasswordVerifier } from '../auth/server-password.ts';
import { SystemPasswordVerifier } from '../auth/server-password-system.ts';
import { PasswordFileVerifier, setPassword } from '../auth/server-password-file.ts';
import type { LogLevel } from '../config/sshd/values.ts';
import { getopt, GetoptError } from './getopt.ts';
import { readSecret, PromptError } from './prompt.ts';

const OPTSTRING = 'C:DdeE:f:h:o:p:Tt';
const USAGE = [
  'usage: tether server [-DdeTt] [-C connection_spec] [-E log_file] [-f config_file]',
  '                     [-h host_key_file] [-o option] [-p port]',
  '       tether server passwd user',
].join('\n');
export const DEFAULT_PORT = 2222;

/** The embedded default's state directory: ./.state, or $TETHER_STATE_DIR. */
export function stateDirectory(): string {
  return resolve(process.env.TETHER_STATE_DIR ?? '.state');
}

export function passwordFilePath(): string {
  return resolve(process.env.TETHER_PASSWORD_FILE ?? join(stateDirectory(), 'passwd'));
}

export interface ConfigChoice {
  config: SshdConfig;
  /** True for the embedded default (no -f): passwords then come from the password file. */
  embedded: boolean;
}

/** Reads the configuration as `tether server` chooses it. Throws SshdConfigError like sshd's. */
export function loadServerConfig(file: string | undefined, overrides: SshdConfigOverrides): ConfigChoice {
  if (file !== undefined) return { config: loadSshdConfig(file, overrides), embedded: false };
  const stateConfig = join(stateDirectory(), 'sshd_config');
  if (existsSync(stateConfig)) return { config: loadSshdConfig(stateConfig, overrides), embedded: true };
  const text = defaultConfigText({ port: DEFAULT_PORT, stateDir: stateDirectory() });
  return { config: parseSshdConfigText(text, 'built-in default configuration', overrides), embedded: true };
}

/** What `tether server -T [-C spec]` prints (sshd -T's format). Throws SshdConfigError / ConnectionSpecError. */
export function dashTOutput(file: string | undefined, overrides: SshdConfigOverrides, spec?: string): string {
  return formatDashT(dashTSettings(loadServerConfig(file, overrides).config, spec));
}

export function choosePasswordVerifier(embedded: boolean): PasswordVerifier {
  if (process.env.TETHER_PASSWORD_FILE || embedded || !runningAsRoot()) return new PasswordFileVerifier(passwordFilePath());
  return new SystemPasswordVerifier();
}

/** Runs until SIGINT/SIGTERM (or, with singleConnection, until the connection ends). */
export function runUntilStopped(server: Server): Promise<number> {
  return new Promise((resolveExit) => {
    const stop = () => void server.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    server.once('close', () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveExit(0);
    });
  });
}

async function passwdMain(argv: string[]): Promise<number> {
  const user = argv[0];
  if (user === undefined || argv.length !== 1) {
    process.stderr.write('usage: tether server passwd user\n');
    return 1;
  }
  try {
    const first = await readSecret(`New password for ${user}: `);
    const second = await readSecret('Retype new password: ');
    if (first !== second) {
      process.stderr.write('Sorry, passwords do not match.\n');
      return 1;
    }
    if (first === '') {
      process.stderr.write('No password supplied; nothing changed.\n');
      return 1;
    }
    const path = passwordFilePath();
    mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
    await setPassword(path, user, first);
    process.stdout.write(`Password for ${user} updated in ${path}\n`);
    return 0;
  } catch (error) {
    if (error instanceof PromptError) {
      process.stderr.write(`tether server passwd: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function printConfigError(error: SshdConfigError): void {
  for (const line of error.sshdLines) process.stderr.write(`${line}\n`);
}

export async function serverMain(argv: string[]): Promise<number> {
  if (argv[0] === 'passwd') return passwdMain(argv.slice(1));
  let parsed;
  try {
    parsed = getopt(argv, OPTSTRING);
  } catch (error) {
    if (!(error instanceof GetoptError)) throw error;
    process.stderr.write(`tether server: ${error.message}\n${USAGE}\n`);
    return 1;
  }
  if (parsed.operands.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 1;
  }
  let file: string | undefined;
  let spec: string | undefined;
  let logFile: string | undefined;
  let mode: 'run' | 'test' | 'dump' = 'run';
  let debugMode = false;
  const overrides: SshdConfigOverrides & { port: number[]; hostKeys: string[]; options: string[] } = { port: [], hostKeys: [], options: [] };
  for (const [flag, value] of parsed.options) {
    switch (flag) {
      case 'f':
        file = value!;
        break;
      case 'p': {
        const port = Number(value);
        if (!/^\d+$/.test(value!) || port < 1 || port > 65535) {
          process.stderr.write(`Bad port number.\n`);
          return 1;
        }
        overrides.port.push(port);
        break;
      }
      case 'h':
        overrides.hostKeys.push(value!);
        break;
      case 'o':
        overrides.options.push(value!);
        break;
      case 'C':
        spec = value!;
        break;
      case 'E':
        logFile = value!;
        break;
      case 'T':
        mode = 'dump';
        break;
      case 't':
        if (mode !== 'dump') mode = 'test';
        break;
      case 'd':
        debugMode = true;
        break;
      // -D (no daemon) and -e (log to stderr) describe what the server always does.
    }
  }

  if (mode === 'test' && file !== undefined) {
    const check = checkSshdConfig(file, overrides);
    for (const warning of check.warnings) process.stderr.write(`${warning}\n`);
    for (const error of check.errors) printConfigError(error);
    return check.ok ? 0 : 255;
  }

  if (mode === 'dump') {
    try {
      process.stdout.write(dashTOutput(file, overrides, spec));
      return 0;
    } catch (error) {
      if (error instanceof SshdConfigError) {
        printConfigError(error);
        return 255;
      }
      if (error instanceof ConnectionSpecError) {
        process.stderr.write(`${error.message}\n`);
        return 255;
      }
      throw error;
    }
  }

  let choice: ConfigChoice;
  try {
    choice = loadServerConfig(file, overrides);
  } catch (error) {
    if (error instanceof SshdConfigError) {
      printConfigError(error);
      return 255;
    }
    throw error;
  }
  for (const warning of choice.config.warnings) process.stderr.write(`${warning}\n`);
  if (mode === 'test') return 0;

  const settings = choice.config.settings;
  const level: LogLevel = debugMode ? 'DEBUG3' : settings.logLevel;
  const logger = createLogger({ level, destination: logFile ? { file: logFile } : undefined });
  try {
    const hostKeys = loadHostKeys(settings.hostKeys, { generateMissing: true, warn: (message) => logger.error(message) });
    for (const entry of hostKeys.filter((k) => k.generated)) logger.info(`Generated host key ${entry.path}`);
    const server = createServer({
      config: choice.config,
      hostKeys: hostKeys.map((entry) => entry.key),
      logger,
      passwords: choosePasswordVerifier(choice.embedded),
      singleConnection: debugMode,
    });
    await server.listen();
    return await runUntilStopped(server);
  } catch (error) {
    if (error instanceof HostKeyError || error instanceof AlgorithmConfigError || (error instanceof Error && error.message.startsWith('Bind to'))) {
      process.stderr.write(`${error.message}\n`);
      return 255;
    }
    throw error;
  }
}
