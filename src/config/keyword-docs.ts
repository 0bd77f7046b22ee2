// The README's "Configuration keywords" section, generated from the two support tables (ssh/support.ts,
// sshd/support.ts) so the documentation cannot drift from what the parsers enforce and refuse. A unit test
// compares README.md with this text; `node scripts/config-keywords.ts` rewrites the section.
import { SUPPORT as SSH_SUPPORT } from './ssh/support.ts';
import { SUPPORT as SSHD_SUPPORT } from './sshd/support.ts';

type AnySupport =
  | { readonly kind: 'enforced' }
  | { readonly kind: 'refused'; readonly accepted: string }
  | { readonly kind: 'warned'; readonly withAddon?: boolean }
  | { readonly kind: 'inert'; readonly note: string }
  | { readonly kind: 'notice'; readonly note: string };

export const SECTION_TITLE = '### Configuration keywords';

function sorted(entries: ReadonlyArray<readonly [string, AnySupport]>): Array<readonly [string, AnySupport]> {
  return [...entries].sort(([a], [b]) => a.toLowerCase().localeCompare(b.toLowerCase()));
}

/** Keywords grouped by note, "note: A, B, C", in the order the notes first appear. */
function byNote(entries: Array<readonly [string, AnySupport]>): string[] {
  const groups = new Map<string, string[]>();
  for (const [name, s] of entries) {
    if (s.kind !== 'inert' && s.kind !== 'notice') continue;
    groups.set(s.note, [...(groups.get(s.note) ?? []), name]);
  }
  return [...groups].map(([note, names]) => `  - ${names.map((n) => `\`${n}\``).join(', ')}: ${note}.`);
}

function fileSection(title: string, entries: ReadonlyArray<readonly [string, AnySupport]>): string[] {
  const all = sorted(entries);
  const names = (kind: AnySupport['kind']): string[] => all.filter(([, s]) => s.kind === kind).map(([n]) => `\`${n}\``);
  const warnedNames = (withAddon: boolean): string[] =>
    all.filter(([, s]) => s.kind === 'warned' && (s.withAddon === true) === withAddon).map(([n]) => `\`${n}\``);
  const refused = all.flatMap(([n, s]) => (s.kind === 'refused' ? [`\`${n}\` (${s.accepted})`] : []));
  return [
    `#### ${title}`,
    '',
    `- **Enforced**: ${names('enforced').join(', ')}.`,
    `- **Refused unless set to** the value shown, which asks for nothing Tether lacks: ${refused.join(', ')}.`,
    '- **Accepted, without effect**:',
    ...byNote(all.filter(([, s]) => s.kind === 'inert')),
    '- **As OpenSSH does**:',
    ...byNote(all.filter(([, s]) => s.kind === 'notice')),
    ...(warnedNames(false).length > 0
      ? [`  - ${warnedNames(false).join(', ')}: when on, warned about ("Unsupported option") as by an ssh built without GSSAPI; the method is not tried.`]
      : []),
    ...(warnedNames(true).length > 0
      ? [
          `  - ${warnedNames(true).join(', ')}: enforced when the GSS-API addon (native/gssapi) is built, which needs libkrb5-dev at`,
          '    install; without it, when on, warned about ("Unsupported option") as by an ssh built without GSSAPI.',
        ]
      : []),
  ];
}

/** Tether's own ssh_config keywords (persistent sessions, docs/PROTOCOL.sessions); -G prints them only when set. */
const TETHER_SSH_KEYWORDS = [
  '- **Tether\'s own** (`tether ssh -G` prints them only when set):',
  '  - `Session NAME`: create the persistent session NAME, or reattach to it if the user has one (another client',
  '    attached to it is detached and told why).',
  '  - `SessionResume yes|no` (default yes): ask a Tether server to hold the session (never a subsystem), and after',
  '    a dropped connection reconnect through the same path (ProxyJump, ProxyCommand, HostName alternates) and',
  '    resume it: output and input each delivered exactly once. `~.` still ends the session. With no',
  '    ServerAliveInterval set, a held session uses 15 s × 3 keepalives so that a silent drop is noticed.',
  '  - `SessionResumeTimeout TIME` (default 10m): how long to keep reconnecting (backoff from 100 ms to 1 s).',
];

/** The whole section, from its heading to the blank line before the next heading. */
export function keywordSection(): string {
  return [
    SECTION_TITLE,
    '',
    'Both configuration files are parsed exactly as OpenSSH 9.2 parses them. A keyword whose value asks for',
    'something Tether does not implement is an error naming the file and line, worded like OpenSSH\'s own',
    '(`/etc/ssh/sshd_config line 12: Unsupported option PermitTunnel`, `~/.ssh/config line 3: Unsupported',
    'option "dynamicforward"`), and the program does not start. A value set earlier wins, as in OpenSSH,',
    'so `-o GSSAPIAuthentication=no` overrides a refused line in a file. This list is generated from',
    '`src/config/ssh/support.ts` and `src/config/sshd/support.ts`; a unit test keeps it in step.',
    '',
    'As a Tether extension, `HostName` may list alternates, comma-separated (`HostName gw.example.org,gw-backup.example.org`):',
    '`tether ssh` tries them in order, every address of each in resolver order, within `ConnectTimeout` per',
    'attempt, and on every reconnect; it accepts one only with a host key known for it (under its own name, the',
    'first name, or `HostKeyAlias`; an unknown key is refused as under `StrictHostKeyChecking yes` for any but',
    'the first), and says `Connected to NAME (alternate of FIRST).` when it is not the first. A jump host with',
    'a list fails over too. `%h` and `Match host` see the first name; `ssh -G` prints the list.',
    '',
    'Tether\'s server holds sessions so that they outlive their connection (`docs/PROTOCOL.sessions`):',
    '`PersistentSessions yes|no` (default yes; allowed in `Match`) holds every session with a terminal, and one',
    'without when the client asks (`hold@tether-ssh.org`), never a subsystem; `PersistentSessionTimeout` (default',
    '3h) is how long a detached session is kept, `PersistentSessionLogSize` (default 4M) how much recent output',
    'per stream, and `PersistentSessionDirectory` (global; default `/run/tether/sessions` as root, else',
    '`$XDG_RUNTIME_DIR/tether-sessions-UID`) where the per-user holders\' sockets are. With it on, the commands',
    '`attach NAME` and `sessions` (also as `ForceCommand`) reattach to and list held sessions. Sessions under',
    '`ChrootDirectory` are not held, and a login restricted by authorized_keys options gets no resume token. A',
    'held session keeps the `DISPLAY` and `SSH_AUTH_SOCK` of the connection that started it: X11 and agent',
    'forwarding work only while that connection lasts.',
    '',
    '`Subsystem sftp internal-sftp` (and `ForceCommand internal-sftp`) runs Tether\'s own SFTP server,',
    '`tether sftp-server`, as the user with the arguments written after it. `ChrootDirectory` (`%h`, `%u`, `%U`)',
    'is enforced for internal-sftp sessions, with sshd\'s checks (every component owned by root and not group-',
    'or world-writable, else "bad ownership or modes for chroot directory" and the session fails). Node cannot',
    'chroot(2), so the SFTP server confines every path itself, as a chrooted kernel would resolve it (`..` stops',
    'at the root, links resolve inside it). Any other session under `ChrootDirectory` (a shell, a command, an',
    'external subsystem) is refused with a log line: Tether cannot chroot a program.',
    '',
    ...fileSection('ssh_config (`tether ssh`)', SSH_SUPPORT),
    '',
    ...TETHER_SSH_KEYWORDS,
    '',
    ...fileSection('sshd_config (`tether server`)', SSHD_SUPPORT),
    '',
  ].join('\n');
}

/** README text with the section replaced (or inserted before "## Architecture", the end of Usage). */
export function withKeywordSection(readme: string): string {
  const section = keywordSection();
  const start = readme.indexOf(`${SECTION_TITLE}\n`);
  if (start >= 0) {
    const next = readme.slice(start + SECTION_TITLE.length).search(/\n###? /);
    const end = next < 0 ? readme.length : start + SECTION_TITLE.length + next + 1;
    return readme.slice(0, start) + section + '\n' + readme.slice(end);
  }
  const at = readme.indexOf('\n## Architecture');
  if (at < 0) throw new Error('README.md has no "## Architecture" heading to put the keyword section before');
  return `${readme.slice(0, at + 1)}${section}\n${readme.slice(at + 1)}`;
}
