/**
 * Who may log in at all (sshd auth.c allowed_user and auth_root_allowed): AllowUsers / DenyUsers /
 * AllowGroups / DenyGroups, a usable login shell, and PermitRootLogin per authentication method.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { matchPatternList, matchUserEntry } from '../match/addresses.ts';
import type { EffectiveSshdSettings } from '../config/sshd/index.ts';
import type { UserAccount } from './accounts.ts';

export interface PeerAddress {
  address: string;
  port: number;
}

/** Why `account` may not log in from `peer`, worded as sshd logs it; undefined when it may. */
export function loginRefusal(account: UserAccount, settings: EffectiveSshdSettings, peer: PeerAddress): string | undefined {
  const who = `User ${account.name} from ${peer.address}`;
  try {
    const stats = statSync(account.shell);
    if (!stats.isFile()) return `User ${account.name} not allowed because shell ${account.shell} is not executable`;
    accessSync(account.shell, constants.X_OK);
  } catch {
    return `User ${account.name} not allowed because shell ${account.shell} does not exist`;
  }
  const userMatches = (entry: string) => matchUserEntry(account.name, peer.address, peer.address, entry) === 1;
  if (settings.denyUsers.some(userMatches)) return `${who} not allowed because listed in DenyUsers`;
  if (settings.allowUsers.length > 0 && !settings.allowUsers.some(userMatches)) {
    return `${who} not allowed because not listed in AllowUsers`;
  }
  const groupMatches = (pattern: string) => account.groups.some((group) => matchPatternList(group, pattern) === 1);
  if (settings.denyGroups.some(groupMatches)) return `${who} not allowed because a group is listed in DenyGroups`;
  if (settings.allowGroups.length > 0 && !settings.allowGroups.some(groupMatches)) {
    return `${who} not allowed because none of user's groups are listed in AllowGroups`;
  }
  return undefined;
}

/**
 * PermitRootLogin for one method (auth_root_allowed): `prohibit-password` allows only key-based methods,
 * `forced-commands-only` only keys carrying command=.
 */
export function rootLoginAllowed(settings: EffectiveSshdSettings, method: string, hasForcedCommand: boolean): boolean {
  switch (settings.permitRootLogin) {
    case 'yes':
      return true;
    case 'prohibit-password':
      return method === 'publickey' || method === 'hostbased' || method === 'gssapi-with-mic';
    case 'forced-commands-only':
      return method === 'publickey' && hasForcedCommand;
    default:
      return false;
  }
}
