/**
 * sftp's `ls` (sftp.c do_ls_dir and do_globbed_ls): a directory's entries, or the matches of a pattern,
 * sorted by name (or -t time, -S size, -r reversed, -f unsorted), in columns or -1 one per line, or -l long
 * (the server's own longname line, or sftp's ls_file line with -n/-h or when the server can name ids).
 */
import { isDirectory, SftpStatusError, GlobTooManyError, type SftpAttributes, type SftpNameEntry } from '../sftp/client/index.ts';
import { LS, SORT_FLAGS } from './sftp-commands-parse.ts';
import { columns, lsLine } from './sftp-commands-format.ts';
import { makeAbsoluteGlob, pathAppend, pathStrip, remoteGlob, type ShellContext } from './sftp-commands-context.ts';
import { SFTP_EXTENSION } from '../sftp/protocol.ts';

interface Listed {
  name: string;
  attrs: SftpAttributes;
  longname?: string;
}

function compare(flags: number): ((a: Listed, b: Listed) => number) | undefined {
  const reverse = flags & LS.reverse ? -1 : 1;
  // NCMP in sftp.c: larger first for time and size.
  const numeric = (a: number, b: number) => (a === b ? 0 : a < b ? 1 : -1);
  if (flags & LS.nameSort) return (a, b) => reverse * (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (flags & LS.timeSort) return (a, b) => reverse * numeric(a.attrs.mtime ?? 0, b.attrs.mtime ?? 0);
  if (flags & LS.sizeSort) return (a, b) => reverse * numeric(a.attrs.size ?? 0, b.attrs.size ?? 0);
  return undefined;
}

/** Names for the owners and groups listed, when the server offers users-groups-by-id@openssh.com. */
async function ownerNames(context: ShellContext, items: Listed[]): Promise<{ user(uid?: number): string | undefined; group(gid?: number): string | undefined }> {
  const users = new Map<number, string>();
  const groups = new Map<number, string>();
  if (context.sftp.supports(SFTP_EXTENSION.USERS_GROUPS_BY_ID, '1')) {
    const uids = [...new Set(items.map((item) => item.attrs.uid).filter((id): id is number => id !== undefined))];
    const gids = [...new Set(items.map((item) => item.attrs.gid).filter((id): id is number => id !== undefined))];
    try {
      const names = await context.sftp.usersGroupsById(uids, gids);
      uids.forEach((uid, index) => names.users[index] && users.set(uid, names.users[index]!));
      gids.forEach((gid, index) => names.groups[index] && groups.set(gid, names.groups[index]!));
    } catch (error) {
      if (!(error instanceof SftpStatusError)) throw error;
    }
  }
  return { user: (uid) => (uid === undefined ? undefined : users.get(uid)), group: (gid) => (gid === undefined ? undefined : groups.get(gid)) };
}

async function print(context: ShellContext, items: Listed[], flags: number, longestExtra: number): Promise<void> {
  if (flags & LS.long) {
    const useOwnLine = (flags & (LS.numeric | LS.siUnits)) !== 0 || context.sftp.supports(SFTP_EXTENSION.USERS_GROUPS_BY_ID, '1');
    // OpenSSH 9.2's sftp names owners from users-groups-by-id@openssh.com even with -n (ruser_name in
    // do_ls_dir and do_globbed_ls): -n shows numbers only against a server without the extension.
    const names = useOwnLine ? await ownerNames(context, items) : { user: () => undefined, group: () => undefined };
    for (const item of items) {
      if (context.signal?.aborted) return;
      if (!useOwnLine && item.longname !== undefined) context.print(`${item.longname}\n`);
      else context.print(`${lsLine(item.name, item.attrs, { siUnits: (flags & LS.siUnits) !== 0, user: names.user(item.attrs.uid), group: names.group(item.attrs.gid) })}\n`);
    }
    return;
  }
  if (flags & LS.short) {
    for (const item of items) context.print(`${item.name}\n`);
    return;
  }
  const longest = Math.max(0, ...items.map((item) => item.name.length)) + longestExtra;
  context.print(columns(items.map((item) => item.name), longest, context.width()));
}

/** do_ls_dir: the entries of `path`, named relative to `strip`. */
export async function listDirectory(context: ShellContext, path: string, strip: string | undefined, flags: number): Promise<number> {
  let entries: SftpNameEntry[];
  try {
    entries = await context.sftp.readdir(path);
  } catch (error) {
    if (!(error instanceof SftpStatusError)) throw error;
    context.error(`remote readdir("${path}"): ${error.message}`);
    return -1;
  }
  const shown = entries.filter((entry) => !entry.filename.startsWith('.') || flags & LS.all);
  // Short view widths count the longest name among those shown plus the directory prefix (sftp.c).
  const prefix = pathStrip(path, strip);
  const items: Listed[] = shown.map((entry) => ({ name: pathStrip(pathAppend(path, entry.filename), strip), attrs: entry.attrs, longname: entry.longname }));
  const order = compare(flags & (SORT_FLAGS | LS.reverse));
  if (flags & SORT_FLAGS && order) {
    const byEntry = new Map(items.map((item, index) => [item, shown[index]!.filename]));
    items.sort((a, b) => order({ ...a, name: byEntry.get(a)! }, { ...b, name: byEntry.get(b)! }));
  }
  const longestName = Math.max(0, ...shown.map((entry) => entry.filename.length));
  if (!(flags & LS.long) && !(flags & LS.short)) {
    context.print(columns(items.map((item) => item.name), longestName + prefix.length, context.width()));
    return 0;
  }
  await print(context, items, flags, 0);
  return 0;
}

/** do_globbed_ls: the matches of a pattern, or a single matching directory's entries. */
export async function listGlob(context: ShellContext, path: string, pwd: string, flags: number): Promise<number> {
  const strip = path.startsWith('/') ? undefined : pwd;
  const pattern = makeAbsoluteGlob(path, pwd);
  let result;
  try {
    result = await remoteGlob(context, pattern, { mark: true, noCheck: true, brace: true });
  } catch (error) {
    if (!(error instanceof GlobTooManyError)) throw error;
    context.error(`Can't ls: Too many matches for "${pattern}"`);
    return -1;
  }
  if (result.matches.length > 0 && result.matched === 0) {
    context.error(`Can't ls: "${pattern}" not found`);
    return -1;
  }
  if (context.signal?.aborted) return 0;
  const only = result.matches[0];
  if (result.matched === 1 && only?.attrs && isDirectory(only.attrs)) return listDirectory(context, only.path, strip, flags);
  const items: Listed[] = [];
  for (const match of result.matches) {
    if (match.attrs === undefined) {
      if (flags & LS.long) context.error(`no stat information for ${pathStrip(match.path, strip)}`);
      continue;
    }
    items.push({ name: pathStrip(match.path, strip), attrs: match.attrs });
  }
  const order = compare(flags & (SORT_FLAGS | LS.reverse));
  if (flags & SORT_FLAGS && order) {
    const full = new Map(items.map((item, index) => [item, result.matches[index]!.path]));
    items.sort((a, b) => order({ ...a, name: full.get(a) ?? a.name }, { ...b, name: full.get(b) ?? b.name }));
  }
  // The glob view measures whole matched paths, as sftp.c does.
  const longest = Math.max(0, ...result.matches.map((match) => match.path.length));
  if (!(flags & LS.long) && !(flags & LS.short)) {
    context.print(columns(items.map((item) => item.name), longest, context.width()));
    return 0;
  }
  await print(context, items, flags, 0);
  return 0;
}
