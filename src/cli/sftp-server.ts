/**
 * `tether sftp-server`: OpenSSH's sftp-server(8), speaking SFTP on stdin and stdout, with its flags:
 *
 *   tether sftp-server [-ehR] [-d start_directory] [-f log_facility] [-l log_level] [-P denied_requests]
 *                      [-p allowed_requests] [-u umask]
 *   tether sftp-server -Q protocol_feature
 *
 * The server runs it for `internal-sftp` (as the user, with the arguments written after internal-sftp).
 * Under ChrootDirectory the server puts `--chroot=DIR` first: Node cannot chroot(2), so the session
 * confines every path to DIR itself (src/sftp/server/paths.ts).
 */
import { realpathSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { posix } from 'node:path';
import { getopt, GetoptError } from './getopt.ts';
import { createSftpLog, isLogFacility, parseLogLevel, type SftpLogLevel } from '../sftp/server/log.ts';
import { requestNames } from '../sftp/server/requests.ts';
import { SftpServerSession } from '../sftp/server/session.ts';
import { asyncStdout } from './stdout-stream.ts';

const PROGRAM = 'sftp-server';
const CHROOT_OPTION = '--chroot=';

function usage(): number {
  process.stderr.write(
    `usage: ${PROGRAM} [-ehR] [-d start_directory] [-f log_facility] [-l log_level]\n\t[-P denied_requests] [-p allowed_requests] [-u umask]\n       ${PROGRAM} -Q protocol_feature\n`,
  );
  return 1;
}

/** sftp-server's fatal(): the message on stderr, status 255. */
function fatal(message: string): number {
  process.stderr.write(`${message}\r\n`);
  return 255;
}

/** -d's %d (home), %u (user name), %U (uid) and a leading ~, as sftp-server expands them. */
function expandStartDirectory(text: string, user: { name: string; uid: number; home: string }): string {
  const tilde = text === '~' ? user.home : text.startsWith('~/') ? `${user.home}${text.slice(1)}` : text;
  return tilde.replace(/%([%duU])/g, (_, token: string) => (token === 'd' ? user.home : token === 'u' ? user.name : token === 'U' ? String(user.uid) : '%'));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export async function sftpServerMain(argv: string[]): Promise<number> {
  let args = argv;
  let root: string | null = null;
  while (args[0]?.startsWith(CHROOT_OPTION)) {
    root = args[0].slice(CHROOT_OPTION.length);
    args = args.slice(1);
  }
  let parsed;
  try {
    parsed = getopt(args, 'd:f:l:P:p:Q:u:cehR');
  } catch (error) {
    if (error instanceof GetoptError) {
      process.stderr.write(`${PROGRAM}: ${error.message}\n`);
      return usage();
    }
    throw error;
  }
  const me = userInfo();
  const account = { name: me.username, uid: me.uid, home: me.homedir };
  let level: SftpLogLevel = 'ERROR';
  let facility = 'AUTH';
  let toStderr = false;
  let readOnly = false;
  let startDirectory: string | undefined;
  let allowed: string[] | undefined;
  let denied: string[] | undefined;
  for (const [flag, value] of parsed.options) {
    if (flag === 'c') break; // invoked as a shell, "sftp-server -c command": the rest is ignored
    switch (flag) {
      case 'Q':
        if (value!.toLowerCase() !== 'requests') {
          process.stderr.write('Invalid query type\n');
          return 1;
        }
        process.stdout.write(`${requestNames().join('\n')}\n`);
        return 0;
      case 'R':
        readOnly = true;
        break;
      case 'e':
        toStderr = true;
        break;
      case 'l': {
        const parsedLevel = parseLogLevel(value!);
        if (parsedLevel) level = parsedLevel;
        else process.stderr.write(`Invalid log level "${value}"\r\n`);
        break;
      }
      case 'f':
        if (isLogFacility(value!)) facility = value!.toUpperCase();
        else process.stderr.write(`Invalid log facility "${value}"\r\n`);
        break;
      case 'd':
        startDirectory = expandStartDirectory(value!, account);
        break;
      case 'p':
        if (allowed) return fatal('Permitted requests already set');
        allowed = value!.split(',');
        break;
      case 'P':
        if (denied) return fatal('Refused requests already set');
        denied = value!.split(',');
        break;
      case 'u': {
        if (!/^[0-7]+$/.test(value!) || Number.parseInt(value!, 8) > 0o777) return fatal(`Invalid umask "${value}"`);
        process.umask(Number.parseInt(value!, 8));
        break;
      }
      default:
        return usage();
    }
  }
  const log = createSftpLog(level, toStderr ? 'stderr' : 'syslog', facility);
  const connection = process.env.SSH_CONNECTION;
  const clientAddress = connection === undefined ? 'UNKNOWN' : connection.split(' ')[0]!;

  let cwd: string;
  if (root !== null) {
    try {
      root = realpathSync(root);
    } catch (error) {
      return fatal(`chroot("${root}"): ${(error as Error).message}`);
    }
    // As sshd does after chroot(2): the home directory inside the root when there is one, else "/".
    cwd = isDirectory(posix.join(root, account.home)) ? posix.normalize(account.home) : '/';
  } else {
    cwd = process.cwd();
  }
  if (startDirectory !== undefined) {
    const wanted = posix.resolve(cwd, startDirectory);
    if (isDirectory(root === null ? wanted : posix.join(root, wanted))) {
      cwd = wanted;
      if (root === null) process.chdir(wanted);
    } else {
      log.error(`chdir to "${startDirectory}" failed: No such file or directory`);
    }
  }

  // Replies queue without blocking the requests still being served.
  const output = asyncStdout();
  const session = new SftpServerSession({ input: process.stdin, output, log, root, cwd, account, clientAddress, readOnly, allowed, denied });
  await session.start();
  // Everything replied must reach the client before the process ends.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    output.end(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  return session.exitCode;
}
