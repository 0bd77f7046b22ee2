/**
 * The server's way to the users' session holders (docs/PROTOCOL.sessions §1): one holder per account, reached
 * over `<PersistentSessionDirectory>/<uid>/holder.sock`, spawned on first use (as the user when the server is
 * root) and kept connected across that account's connections. A connection to a holder that has gone (it
 * exits once it holds nothing) is dropped and made again once, so a stale one never fails a login.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { EffectiveSshdSettings } from '../config/sshd/index.ts';
import { defaultSessionDirectory } from '../config/sshd/persistent-settings.ts';
import type { SessionHolder } from '../sessions/holder-api.ts';
import { holderFor, holderSocketPath } from '../sessions/holder/index.ts';
import type { RunAs } from '../sessions/session-process.ts';

/** What holderFor (src/sessions/holder/) needs to reach or start one account's holder. */
export interface HolderTarget {
  directory: string;
  user: string;
  uid: number;
  gid: number;
  runAs?: RunAs;
}

export type HolderFactory = (target: HolderTarget) => Promise<SessionHolder>;

export interface HolderAccount {
  name: string;
  uid: number;
  gid: number;
}

type DirectorySettings = Pick<EffectiveSshdSettings, 'persistentSessionDirectory'>;


export class SessionHolders {
  private readonly factory: HolderFactory;
  /** The server runs as root and sessions as their users: holders are started as the user too. */
  private readonly switchUser: boolean;
  private readonly connected = new Map<string, Promise<SessionHolder>>();

  constructor(options: { switchUser: boolean; factory?: HolderFactory }) {
    this.switchUser = options.switchUser;
    this.factory = options.factory ?? holderFor;
  }

  directory(settings: DirectorySettings): string {
    return settings.persistentSessionDirectory ?? defaultSessionDirectory();
  }

  private target(account: HolderAccount, settings: DirectorySettings): HolderTarget {
    const runAs = this.switchUser && account.uid !== 0 ? { uid: account.uid, gid: account.gid } : undefined;
    return { directory: this.directory(settings), user: account.name, uid: account.uid, gid: account.gid, runAs };
  }

  private key(target: HolderTarget): string {
    return `${target.directory}\0${target.uid}`;
  }

  /** Whether the account's holder socket exists, without starting anything (a pre-authentication check). */
  running(account: HolderAccount, settings: DirectorySettings): boolean {
    try {
      return lstatSync(holderSocketPath(join(this.directory(settings), String(account.uid)))).isSocket();
    } catch {
      return false;
    }
  }

  /**
   * Runs `use` with the account's holder, starting the holder when none runs. When the kept connection
   * turns out dead, it is made again and `use` tried once more. Rejects when the holder cannot be reached.
   */
  async with<T>(account: HolderAccount, settings: DirectorySettings, use: (holder: SessionHolder) => Promise<T>): Promise<T> {
    const target = this.target(account, settings);
    const key = this.key(target);
    const kept = this.connected.get(key);
    if (kept) {
      try {
        return await use(await kept);
      } catch {
        this.forget(key, kept);
      }
    }
    const fresh = this.factory(target);
    this.connected.set(key, fresh);
    fresh.catch(() => this.forget(key, fresh));
    return use(await fresh);
  }

  private forget(key: string, holder: Promise<SessionHolder>): void {
    if (this.connected.get(key) !== holder) return;
    this.connected.delete(key);
    void holder.then((h) => h.close(), () => {});
  }

  /** Closes the server's connections to holders; the holders and their sessions go on. */
  closeAll(): void {
    for (const [key, holder] of [...this.connected]) this.forget(key, holder);
  }
}
