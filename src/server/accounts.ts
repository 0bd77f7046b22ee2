/**
 * Local user accounts (getpwnam and the group list initgroups would set): read from /etc/passwd and
 * /etc/group, falling back to getent / id for accounts that come from NSS (LDAP, sssd).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';

export interface UserAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /** Group names, primary first, as Match Group and AllowGroups see them. */
  groups: string[];
  /** Supplementary group ids. */
  gids: number[];
}

/** Names sshd could never look up: too long, or with characters no account name has. */
export function isPlausibleUserName(name: string): boolean {
  return name.length > 0 && name.length <= 256 && !/[\x00-\x1f\x7f/:]/.test(name);
}

function run(file: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000, encoding: 'utf8' }, (error, stdout) => resolve(error ? undefined : stdout));
  });
}

async function readLines(path: string): Promise<string[][]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').map((line) => line.split(':'));
  } catch {
    return [];
  }
}

function accountFromPasswdFields(fields: string[]): Omit<UserAccount, 'groups' | 'gids'> | undefined {
  if (fields.length < 7) return undefined;
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return { name: fields[0]!, uid, gid, home: fields[5] || '/', shell: fields[6] || '/bin/sh' };
}

/** Looks an account up by name; null when there is none. */
export async function lookupAccount(name: string): Promise<UserAccount | null> {
  if (!isPlausibleUserName(name)) return null;
  let base = accountFromPasswdFields((await readLines('/etc/passwd')).find((f) => f[0] === name) ?? []);
  let fromFiles = true;
  if (!base) {
    const line = await run('getent', ['passwd', '--', name]);
    base = accountFromPasswdFields(line?.trim().split(':') ?? []);
    fromFiles = false;
  }
  if (!base) return null;
  const groups: string[] = [];
  const gids: number[] = [];
  if (fromFiles) {
    for (const f of await readLines('/etc/group')) {
      if (f.length < 4) continue;
      const gid = Number(f[2]);
      if (gid === base.gid || (f[3] ?? '').split(',').includes(name)) {
        if (gid === base.gid) {
          groups.unshift(f[0]!);
          gids.unshift(gid);
        } else {
          groups.push(f[0]!);
          gids.push(gid);
        }
      }
    }
  } else {
    groups.push(...((await run('id', ['-Gn', '--', name]))?.trim().split(/\s+/).filter(Boolean) ?? []));
    gids.push(...((await run('id', ['-G', '--', name]))?.trim().split(/\s+/).map(Number).filter(Number.isInteger) ?? []));
  }
  if (!gids.includes(base.gid)) gids.unshift(base.gid);
  return { ...base, groups, gids };
}

/** The account this process runs as (sessions of a non-root server run as it). */
export async function currentAccount(): Promise<UserAccount> {
  const info = userInfo();
  const found = await lookupAccount(info.username);
  if (found && found.uid === info.uid) return found;
  return { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir, shell: info.shell ?? '/bin/sh', groups: [], gids: [info.gid] };
}

export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}
