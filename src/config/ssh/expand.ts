/**
 * The three expansions ssh_config(5) defines: `%x` TOKENS, `${NAME}` ENVIRONMENT VARIABLES and a leading
 * `~` (home directory). Each keyword allows a different subset; callers pass exactly the tokens OpenSSH
 * offers for that keyword, and an unknown `%x` is an error, as in OpenSSH.
 */
import { readFileSync } from 'node:fs';

export class ExpansionError extends Error {
  override readonly name = 'ExpansionError';
}

/** Token letter → replacement, e.g. `{ h: 'example.com', p: '22' }`. */
export type TokenTable = Readonly<Record<string, string>>;

export interface ExpandOptions {
  /** Expand `${NAME}` from this environment (undefined: leave `${...}` alone). */
  env?: NodeJS.ProcessEnv;
  /** Expand `%x` with these tokens (undefined: leave `%` alone). */
  tokens?: TokenTable;
}

/**
 * Expands `%x` and/or `${NAME}` in one left-to-right pass, like OpenSSH's percent_dollar_expand(): text
 * produced by one expansion is never expanded again.
 */
export function expandString(input: string, options: ExpandOptions): string {
  const { env, tokens } = options;
  let out = '';
  let missing: string | undefined;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (env !== undefined && c === '$' && input[i + 1] === '{') {
      const close = input.indexOf('}', i + 2);
      if (close < 0) throw new ExpansionError(`environment variable '${input.slice(i + 2)}' missing closing '}'`);
      const name = input.slice(i + 2, close);
      if (name.length === 0) throw new ExpansionError('zero-length environment variable');
      const value = env[name];
      if (value === undefined) missing ??= name;
      else out += value;
      i = close;
      continue;
    }
    if (c !== '%' || tokens === undefined) {
      out += c;
      continue;
    }
    const key = input[++i];
    if (key === undefined) throw new ExpansionError('invalid format');
    if (key === '%') {
      out += '%';
      continue;
    }
    const replacement = tokens[key];
    if (replacement === undefined) throw new ExpansionError(`unknown key %${key}`);
    out += replacement;
  }
  if (missing !== undefined) throw new ExpansionError(`env var \${${missing}} has no value`);
  return out;
}

/** Checks `${...}` syntax only (OpenSSH validates IdentityAgent/ForwardAgent paths at parse time). */
export function hasValidEnvironmentSyntax(input: string, env: NodeJS.ProcessEnv): boolean {
  try {
    expandString(input, { env });
    return true;
  } catch {
    return false;
  }
}

/**
 * Expands a leading `~` or `~user` to a home directory (tilde_expand_filename()). `~` alone and `~/`
 * become the home directory with a trailing slash.
 */
export function expandTilde(path: string, homeDir: string, passwdFile = '/etc/passwd'): string {
  if (!path.startsWith('~')) return path;
  const body = path.slice(1);
  let home: string;
  let rest: string;
  if (body === '' || body.startsWith('/')) {
    home = homeDir;
    rest = body.replace(/^\/+/, '');
  } else {
    const slash = body.indexOf('/');
    const user = slash < 0 ? body : body.slice(0, slash);
    rest = slash < 0 ? '' : body.slice(slash + 1).replace(/^\/+/, '');
    const found = lookupHomeDirectory(user, passwdFile);
    if (found === undefined) throw new ExpansionError(`No such user ${user}`);
    home = found;
  }
  const sep = home.length === 0 || !home.endsWith('/') ? '/' : '';
  return home + sep + rest;
}

function lookupHomeDirectory(user: string, passwdFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === user && fields.length >= 6) return fields[5];
  }
  return undefined;
}
