/**
 * The handles table: open files and directories by the 4-byte handle strings OpenSSH's sftp-server uses,
 * bounded in number (limits@openssh.com announces the bound). Handle numbers are not reused soon, so a stale
 * handle from a closed file never names a newer one.
 */
import type { Dir } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export const MAX_OPEN_HANDLES = 512;

export interface FileEntry {
  kind: 'file';
  /** The client's path, for the log and copy-data's same-file check. */
  name: string;
  file: FileHandle;
  append: boolean;
  bytesRead: number;
  bytesWritten: number;
  /** The file's last WRITE, which the next one waits for (file-requests.ts writeFile). */
  lastWrite?: Promise<unknown>;
}

export interface DirectoryEntry {
  kind: 'directory';
  name: string;
  dir: Dir;
  /** Where entries are looked up (lstat) from: the real directory, or its anchor under a root. */
  lookupBase: string;
  /** Whether "." and ".." have been listed (Node's Dir omits them). */
  dotsSent: boolean;
  /** Closes the anchor under a root. */
  release(): Promise<void>;
}

export type HandleEntry = FileEntry | DirectoryEntry;

export class HandleTable {
  private readonly entries = new Map<number, HandleEntry>();
  private next = 0;
  readonly limit: number;

  constructor(limit = MAX_OPEN_HANDLES) {
    this.limit = limit;
  }

  get size(): number {
    return this.entries.size;
  }

  get full(): boolean {
    return this.entries.size >= this.limit;
  }

  /** Registers an entry; the caller has checked `full`. */
  add(entry: HandleEntry): Buffer {
    while (this.entries.has(this.next)) this.next = (this.next + 1) >>> 0;
    const number = this.next;
    this.next = (this.next + 1) >>> 0;
    this.entries.set(number, entry);
    const handle = Buffer.alloc(4);
    handle.writeUInt32BE(number);
    return handle;
  }

  private number(handle: Buffer): number | undefined {
    return handle.length === 4 ? handle.readUInt32BE(0) : undefined;
  }

  get(handle: Buffer): HandleEntry | undefined {
    const number = this.number(handle);
    return number === undefined ? undefined : this.entries.get(number);
  }

  file(handle: Buffer): FileEntry | undefined {
    const entry = this.get(handle);
    return entry?.kind === 'file' ? entry : undefined;
  }

  directory(handle: Buffer): DirectoryEntry | undefined {
    const entry = this.get(handle);
    return entry?.kind === 'directory' ? entry : undefined;
  }

  /** Removes an entry (its resources are the caller's to close). */
  remove(handle: Buffer): HandleEntry | undefined {
    const number = this.number(handle);
    if (number === undefined) return undefined;
    const entry = this.entries.get(number);
    this.entries.delete(number);
    return entry;
  }

  /** Every entry, removed, for closing at the end of the session. */
  drain(): HandleEntry[] {
    const all = [...this.entries.values()];
    this.entries.clear();
    return all;
  }
}

/** Closes an entry's descriptors; errors are the caller's (CLOSE reports them). */
export async function closeEntry(entry: HandleEntry): Promise<void> {
  if (entry.kind === 'file') {
    await entry.file.close();
    return;
  }
  try {
    await entry.dir.close();
  } finally {
    await entry.release();
  }
}
