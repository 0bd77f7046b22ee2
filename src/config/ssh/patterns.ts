/** OpenSSH pattern matching for ssh_config (ssh_config(5) "PATTERNS"): the shared match.c semantics. */
export { matchPattern, matchPatternList, matchHostname, type ListMatch } from '../../match/patterns.ts';
