// %-tokens in AuthorizedKeysFile (sshd_config(5) TOKENS): %% a literal '%', %h the user's home directory,
// %u the user name, %U the numeric uid. A path that is still relative afterwards is taken from the home.

export interface TokenValues {
  user: string;
  home: string;
  uid?: number;
}

/** Thrown for an unknown or unterminated %-token (sshd refuses to use such a path). */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

/** Expands one AuthorizedKeysFile entry for a user, making it absolute under their home. */
export function expandAuthorizedKeysPath(pattern: string, values: TokenValues): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const t = pattern[++i];
    if (t === '%') out += '%';
    else if (t === 'h') out += values.home;
    else if (t === 'u') out += values.user;
    else if (t === 'U' && values.uid !== undefined) out += String(values.uid);
    else throw new TokenError(t === undefined ? `unterminated % token in "${pattern}"` : `unknown key %${t} in "${pattern}"`);
  }
  if (out.startsWith('/')) return out;
  return values.home.endsWith('/') ? `${values.home}${out}` : `${values.home}/${out}`;
}
