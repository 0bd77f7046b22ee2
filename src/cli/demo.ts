/**
 * `tether demo` (what `npm start` runs): the gateway's embedded default, ready in one command. It keeps its
 * state in ./.state (or $TETHER_STATE_DIR): generated host keys, a configuration that listens on 127.0.0.1
 * only (port 2222, $TETHER_PORT, or the next free one), and a password file with a demo user — the invoking
 * OS user, since a server that is not root can only run sessions as itself. The user's random password is
 * printed once, when it is created. Then it prints the fingerprint table and the commands to connect, and
 * serves in the foreground until Ctrl-C.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseSshdConfigText } from '../config/sshd/index.ts';
import { createLogger, createServer, defaultConfigText, loadHostKeys, runningAsRoot } from '../server/index.ts';
import { PasswordFileVerifier, readPasswordFile, setPassword } from '../auth/server-password-file.ts';
import { formatFingerprintTable } from './fingerprints.ts';
import { DEFAULT_PORT, passwordFilePath, runUntilStopped, stateDirectory } from './server.ts';

/** Tries `port` and the next few until one can be bound on 127.0.0.1. */
async function firstFreePort(port: number, tries = 20): Promise<number> {
  for (let candidate = port; candidate < port + tries && candidate <= 65535; candidate++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createTcpServer();
      probe.once('error', () => resolve(false));
      probe.listen(candidate, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return candidate;
  }
  throw new Error(`no free port between ${port} and ${port + tries - 1} on 127.0.0.1`);
}

/** A readable random password: four groups of five characters from an unambiguous alphabet (~98 bits). */
export function generateDemoPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const group = () => Array.from({ length: 5 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return [group(), group(), group(), group()].join('-');
}

/** The invoking user: under sudo the one who ran sudo, otherwise whoever runs this process. */
function demoUser(): string {
  if (runningAsRoot() && process.env.SUDO_USER) return process.env.SUDO_USER;
  return userInfo().username;
}

export async function demoMain(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write('usage: tether demo   (settings: TETHER_PORT, TETHER_STATE_DIR)\n');
    return 1;
  }
  const stateDir = stateDirectory();
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const requested = process.env.TETHER_PORT ? Number(process.env.TETHER_PORT) : DEFAULT_PORT;
  if (!Number.isInteger(requested) || requested < 1 || requested > 65535) {
    process.stderr.write(`TETHER_PORT must be a port number\n`);
    return 1;
  }
  const port = await firstFreePort(requested);
  const user = demoUser();
  const configPath = join(stateDir, 'sshd_config');
  const text = defaultConfigText({ port, stateDir, permitRootLogin: user === 'root' ? 'yes' : 'prohibit-password' });
  writeFileSync(configPath, text, { mode: 0o600 });
  const config = parseSshdConfigText(text, configPath);

  const logger = createLogger({ level: config.settings.logLevel });
  const hostKeys = loadHostKeys(config.settings.hostKeys, { generateMissing: true, warn: (m) => logger.error(m) });

  const passwordFile = passwordFilePath();
  let newPassword: string | undefined;
  if (!readPasswordFile(passwordFile).has(user)) {
    newPassword = generateDemoPassword();
    await setPassword(passwordFile, user, newPassword);
  }

  const server = createServer({
    config,
    hostKeys: hostKeys.map((entry) => entry.key),
    logger,
    passwords: new PasswordFileVerifier(passwordFile),
    releaseMemoryAfterBursts: true,
  });
  await server.listen();

  const out = process.stdout;
  out.write(`\nTether access gateway (embedded default) on 127.0.0.1 port ${port}\n`);
  out.write(`State directory: ${stateDir}\n\n`);
  out.write('Host key fingerprints (compare with what ssh shows on first connection):\n');
  out.write(formatFingerprintTable(hostKeys.map((entry) => entry.key.publicKey)));
  out.write(`\nUser:     ${user}\n`);
  if (newPassword) out.write(`Password: ${newPassword}\n          (shown only now; stored scrypt-hashed in ${passwordFile})\n`);
  else out.write(`Password: set earlier (change it with: npx tether server passwd ${user})\n`);
  out.write(`\nConnect with:\n  ssh -p ${port} ${user}@127.0.0.1\n  npx tether ssh -p ${port} ${user}@127.0.0.1\n\nPress Ctrl-C to stop.\n\n`);
  return runUntilStopped(server);
}
