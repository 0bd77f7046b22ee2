/**
 * Passwords checked against the system's password database (/etc/shadow through getent), for a server
 * running as root. The hash is verified by the C library's crypt(3) (libxcrypt on Debian 12, which knows
 * yescrypt "$y$", SHA-512 "$6$" and the rest) through a short perl program: node:crypto has no yescrypt,
 * and perl needs no native build. The password and the hash travel on the child's stdin, never in argv or
 * the environment; the computed hash comes back on stdout and is compared in constant time.
 */
import { execFile, spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import type { PasswordVerifier } from './server-password.ts';

/** Reads "hash\npassword" from stdin and prints crypt(password, hash). */
const CRYPT_PROGRAM = 'binmode STDIN; binmode STDOUT; local $/; my $in = <STDIN>; my ($h, $p) = split(/\\n/, $in, 2); my $c = crypt($p, $h); print defined $c ? $c : "";';
/** A well-formed yescrypt hash of nothing in particular: unknown users cost the same as real ones. */
const DUMMY_HASH = '$y$j9T$Ut7fScRWLeW7OlNhPTgFq0$qEdXCTMHs9b0T6ONALXJzO8QMstPDS2.TinYGYHMEa6';

export class SystemPasswordError extends Error {
  override readonly name = 'SystemPasswordError';
}

function storedHash(user: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('getent', ['shadow', '--', user], { timeout: 10_000, encoding: 'utf8' }, (error, stdout) => {
      if (error) return resolve(undefined);
      resolve(stdout.trim().split(':')[1]);
    });
  });
}

/** crypt(3) of `password` with `hash` as its setting, through perl; undefined if crypt failed. */
export function systemCrypt(password: string, hash: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('perl', ['-e', CRYPT_PROGRAM], { stdio: ['pipe', 'pipe', 'ignore'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => (output += chunk));
    child.on('error', () => resolve(undefined));
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code === 0 && output !== '' ? output : undefined);
    });
    child.stdin.end(Buffer.concat([Buffer.from(`${hash}\n`, 'latin1'), Buffer.from(password, 'utf8')]));
  });
}

/** True for hashes no password can match: locked ("!…"), disabled ("*"), or empty. */
function unusableHash(hash: string): boolean {
  return hash === '' || hash.startsWith('!') || hash.startsWith('*');
}

export class SystemPasswordVerifier implements PasswordVerifier {
  async verify(user: string | undefined, password: string): Promise<boolean> {
    const hash = user === undefined ? undefined : await storedHash(user);
    const usable = hash !== undefined && !unusableHash(hash);
    const setting = usable ? hash : DUMMY_HASH;
    const computed = await systemCrypt(password, setting);
    if (!usable || computed === undefined) return false;
    const a = Buffer.from(computed, 'latin1');
    const b = Buffer.from(setting, 'latin1');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
