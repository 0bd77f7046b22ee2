// The README's "Configuration keywords" section, generated from the two support tables (ssh/support.ts,
// sshd/support.ts) so the documentation cannot drift from what the parsers enforce and refuse. A unit test
// compares README.md with this text; `node scripts/config-keywords.ts` rewrites the section.
import { SUPPORT as SSH_SUPPORT } from './ssh/support.ts';
import { SUPPORT as SSHD_SUPPORT } from './sshd/support.ts';

type AnySupport =
  | { readonly kind: 'enforced' }
  | { readonly kind: 'refused'; readonly accepted: string }
  | { readonly kind: 'warned' }
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
    ...(names('warned').length > 0
      ? [`  - ${names('warned').join(', ')}: when on, warned about ("Unsupported option") as by an ssh built without GSSAPI; the method is not tried.`]
      : []),
  ];
}

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
    ...fileSection('ssh_config (`tether ssh`)', SSH_SUPPORT),
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
