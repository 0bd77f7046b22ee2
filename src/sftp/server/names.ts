/**
 * User and group names for long listings, users-groups-by-id@openssh.com, home-directory and "~user" paths,
 * read from passwd and group files under the session's root: a chrooted sftp-server sees the chroot's
 * /etc (usually none, so numbers), as getpwuid() inside a real chroot does. Read once, on first use.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Larger account databases are not read (names then show as numbers). */
const MAX_DATABASE_BYTES = 16 * 1024 * 1024;

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

async function readDatabase(path: string): Promise<string[][]> {
  try {
    const text = await readFile(path, 'utf8');
    if (text.length > MAX_DATABASE_BYTES) return [];
    return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split(':'));
  } catch {
    return [];
  }
}

export class NameLookup {
  private readonly root: string;
  private users: Promise<PasswdEntry[]> | undefined;
  private groups: Promise<Map<number, string>> | undefined;

  constructor(root: string) {
    this.root = root;
  }

  private passwd(): Promise<PasswdEntry[]> {
    this.users ??= readDatabase(join(this.root, 'etc/passwd')).then((rows) =>
      rows.filter((fields) => fields.length >= 7).map((fields) => ({ name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! })),
    );
    return this.users;
  }

  private groupNames(): Promise<Map<number, string>> {
    this.groups ??= readDatabase(join(this.root, 'etc/group')).then((rows) => {
      const names = new Map<number, string>();
      for (const fields of rows) if (fields.length >= 3 && !names.has(Number(fields[2]))) names.set(Number(fields[2]), fields[0]!);
      return names;
    });
    return this.groups;
  }

  async userName(uid: number): Promise<string | undefined> {
    return (await this.passwd()).find((entry) => entry.uid === uid)?.name;
  }

  async groupName(gid: number): Promise<string | undefined> {
    return (await this.groupNames()).get(gid);
  }

  async user(name: string): Promise<PasswdEntry | undefined> {
    return (await this.passwd()).find((entry) => entry.name === name);
  }
}
