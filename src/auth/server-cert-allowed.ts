/**
 * Whether a user certificate may authenticate a user, in sshd's order (auth2-pubkey.c user_key_allowed):
 * refused when RevokedKeys revokes the certificate or its CA; then `cert-authority` lines of the
 * AuthorizedKeysFile(s) naming its CA (auth2-pubkeyfile.c auth_check_authkey_line); then TrustedUserCAKeys
 * with AuthorizedPrincipalsFile or AuthorizedPrincipalsCommand (user_cert_trusted_ca); then
 * `cert-authority` lines of AuthorizedKeysCommand's output. The certificate's own options (PROTOCOL.certkeys
 * "Critical options", "Extensions") are merged with the line's, as sshauthopt_merge does: permissions must
 * be granted by both.
 */
import { readFile } from 'node:fs/promises';
import {
  checkCertificateAuthority,
  optionText,
  certificateTypeLabel,
  type Certificate,
} from '../keys/certificate.ts';
import {
  fingerprint,
  keyTypeLabel,
  parseAuthorizedKeyOptions,
  parseAuthorizedKeys,
  parsePublicKeyLine,
  type AuthorizedKey,
  type AuthorizedKeyOptions,
  type FingerprintHash,
} from '../keys/index.ts';
import { isCertificateRevokedByFile, RevokedKeysFileError } from '../keys/revoked-keys.ts';
import { expandAuthorizedKeysPath } from './authorized-keys-path.ts';
import { addrMatchList, matchHostAndAddress, parseAddress } from '../match/addresses.ts';
import { keyIsRevoked } from './server-key-allowed.ts';
import { restrictionsOf, searchAuthorizedKeysFiles, unsafePathReason, type AuthorizedKeysLookup } from './server-authorized-keys.ts';
import type { SessionRestrictions } from './server-auth.ts';
import { mergeRestrictions } from './session-restrictions.ts';

export interface CertAllowedPolicy {
  lookup: AuthorizedKeysLookup;
  revokedKeysFile: string | null;
  /** TrustedUserCAKeys (null: none). */
  trustedUserCAKeys: string | null;
  /** AuthorizedPrincipalsFile, with %h %u %U %% tokens (null: none). */
  authorizedPrincipalsFile: string | null;
  fingerprintHash: FingerprintHash;
  /**
   * AuthorizedPrincipalsCommand, when configured: its output (principals-file lines) for this certificate,
   * or undefined when it did not run cleanly (already logged).
   */
  principalsCommand?: (certificate: Certificate) => Promise<string | undefined>;
  /** AuthorizedKeysCommand's output, when configured and it ran cleanly. */
  keysCommand?: () => Promise<{ text: string; label: string } | undefined>;
  log: { error(message: string): void; info(message: string): void; verbose(message: string): void };
}

/** Principals files are short lists of names; a larger one is not read. */
const MAX_PRINCIPALS_FILE_BYTES = 1024 * 1024;

/** The session restrictions for `certificate`, or undefined when it does not let the user in. */
export async function userCertificateAllowed(certificate: Certificate, policy: CertAllowedPolicy): Promise<SessionRestrictions | undefined> {
  if (await certificateIsRevoked(certificate, policy)) return undefined;
  if (await keyIsRevoked(certificate.signatureKey, policy.revokedKeysFile, policy.fingerprintHash, (message) => policy.log.error(message))) return undefined;
  const fromFiles = await searchAuthorizedKeysFiles(policy.lookup, (text, path) => certificateAuthorityLine(certificate, text, path, policy));
  if (fromFiles) return fromFiles;
  const trusted = await trustedCertificate(certificate, policy);
  if (trusted) return trusted;
  if (!policy.keysCommand) return undefined;
  const output = await policy.keysCommand();
  return output ? certificateAuthorityLine(certificate, output.text, output.label, policy) : undefined;
}

async function certificateIsRevoked(certificate: Certificate, policy: CertAllowedPolicy): Promise<boolean> {
  const path = policy.revokedKeysFile;
  if (path === null) return false;
  const described = `${certificateTypeLabel(certificate)} ${fingerprint(certificate.key.blob, policy.fingerprintHash)}`;
  try {
    if (!(await isCertificateRevokedByFile(certificate, path))) return false;
    policy.log.error(`Authentication key ${described} revoked by file ${path}`);
  } catch (error) {
    if (!(error instanceof RevokedKeysFileError)) throw error;
    if (error.detail) policy.log.error(error.detail);
    policy.log.error(`Error checking authentication key ${described} in revoked keys file ${path}: ${error.message}`);
  }
  return true;
}

/**
 * The first `cert-authority` line naming the certificate's CA that lets it in, in authorized_keys text
 * (auth2-pubkeyfile.c auth_check_authkeys_file); a line that refuses it is logged and the search goes on.
 */
function certificateAuthorityLine(certificate: Certificate, text: string, label: string, policy: CertAllowedPolicy): SessionRestrictions | undefined {
  const { keys } = parseAuthorizedKeys(text);
  for (const entry of keys) {
    if (!entry.options.certAuthority || !entry.key.equals(certificate.signatureKey)) continue;
    const restrictions = authorisedByLine(certificate, entry, `${label}:${entry.line}`, policy);
    if (restrictions) return restrictions;
  }
  return undefined;
}

/** auth_check_authkey_line for a certificate and a `cert-authority` line of its CA. */
function authorisedByLine(certificate: Certificate, entry: AuthorizedKey, loc: string, policy: CertAllowedPolicy): SessionRestrictions | undefined {
  if (!authoriseOptions(entry.options, true, loc, policy)) return fail('Refused by key options', policy);
  const certOptions = certificateOptions(certificate, policy);
  if (!certOptions) return fail('Invalid certificate options', policy);
  if (!authoriseSourceAddress(certOptions.sourceAddress, loc, policy)) return fail('Refused by certificate options', policy);
  const merged = mergeRestrictions(restrictionsOf(entry), certOptions.restrictions);
  if (typeof merged === 'string') return fail(merged, policy);
  // principals= names the certificate principals to accept instead of the user's own name.
  const allowed = entry.options.principals;
  if (allowed && !certificate.principals.some((principal) => allowed.includes(principal))) {
    return fail('Certificate does not contain an authorized principal', policy);
  }
  const reason = checkCertificateAuthority(certificate, {
    wantHost: false,
    requirePrincipal: false,
    ...(allowed ? {} : { name: policy.lookup.owner.name }),
  });
  if (reason) return fail(reason, policy);
  policy.log.verbose(
    `Accepted certificate ID "${certificate.keyId}" (serial ${certificate.serial}) signed by CA ` +
      `${keyTypeLabel(entry.key.type)} ${fingerprint(entry.key.blob, 'sha256')} found at ${loc}`,
  );
  return merged;
}

/** TrustedUserCAKeys with AuthorizedPrincipalsFile (auth2-pubkey.c user_cert_trusted_ca). */
async function trustedCertificate(certificate: Certificate, policy: CertAllowedPolicy): Promise<SessionRestrictions | undefined> {
  const caFile = policy.trustedUserCAKeys;
  if (caFile === null) return undefined;
  const ca = certificate.signatureKey;
  if (!(await fileListsKey(caFile, certificate))) return undefined;

  // With AuthorizedPrincipalsFile or AuthorizedPrincipalsCommand set, one of the names they give must be
  // among the certificate's; without either, the user's own name must be (checked below).
  let principalOptions: AuthorizedKeyOptions | undefined;
  if (policy.authorizedPrincipalsFile !== null) {
    const principalsFile = await openPrincipalsFile(policy);
    if (principalsFile) principalOptions = matchPrincipals(principalsFile, certificate);
  }
  if (!principalOptions && policy.principalsCommand) {
    const output = await policy.principalsCommand(certificate);
    if (output !== undefined) principalOptions = matchPrincipals(output, certificate);
  }
  const usePrincipals = policy.authorizedPrincipalsFile !== null || policy.principalsCommand !== undefined;
  if (usePrincipals && !principalOptions) return fail('Certificate does not contain an authorized principal', policy);
  const reason = checkCertificateAuthority(certificate, {
    wantHost: false,
    requirePrincipal: true,
    ...(usePrincipals ? {} : { name: policy.lookup.owner.name }),
  });
  if (reason) return fail(reason, policy);
  const certOptions = certificateOptions(certificate, policy);
  if (!certOptions) return fail('Invalid certificate options', policy);
  if (!authoriseSourceAddress(certOptions.sourceAddress, 'cert', policy)) return fail('Refused by certificate options', policy);
  let restrictions = certOptions.restrictions;
  if (principalOptions) {
    if (!authoriseOptions(principalOptions, false, 'principals', policy)) return fail('Refused by certificate principals options', policy);
    const merged = mergeRestrictions(restrictionsOf({ options: principalOptions }), certOptions.restrictions);
    if (typeof merged === 'string') return fail(merged, policy);
    restrictions = merged;
  }
  policy.log.verbose(
    `Accepted certificate ID "${certificate.keyId}" (serial ${certificate.serial}) signed by ${keyTypeLabel(ca.type)} CA ` +
      `${fingerprint(ca.blob, policy.fingerprintHash)} via ${caFile}`,
  );
  return restrictions;
}

function fail(reason: string, policy: CertAllowedPolicy): undefined {
  policy.log.error(reason);
  return undefined;
}

/** sshkey_in_file(ca, file, strict): whether TrustedUserCAKeys lists the CA; an unreadable line ends the search. */
async function fileListsKey(path: string, certificate: Certificate): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return false;
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#') || line === '\r') continue;
    try {
      if (parsePublicKeyLine(line).key.equals(certificate.signatureKey)) return true;
    } catch {
      return false;
    }
  }
  return false;
}

/** AuthorizedPrincipalsFile for the user (auth_openprincipals): tokens expanded, StrictModes applied. */
async function openPrincipalsFile(policy: CertAllowedPolicy): Promise<string | undefined> {
  const pattern = policy.authorizedPrincipalsFile;
  if (pattern === null) return undefined;
  const { owner } = policy.lookup;
  let path: string;
  try {
    path = expandAuthorizedKeysPath(pattern, { user: owner.name, home: owner.home, uid: owner.uid });
  } catch (error) {
    policy.log.error(`AuthorizedPrincipalsFile ${pattern}: ${(error as Error).message}`);
    return undefined;
  }
  try {
    if (policy.lookup.strictModes) {
      const reason = await unsafePathReason(path, owner);
      if (reason) {
        policy.log.info(`Authentication refused: ${reason}`);
        return undefined;
      }
    }
    const data = await readFile(path);
    if (data.length > MAX_PRINCIPALS_FILE_BYTES) return undefined;
    return data.toString('utf8');
  } catch {
    return undefined; // a missing principals file matches nothing
  }
}

/**
 * auth_process_principals: the options of the first line naming one of the certificate's principals. A
 * line is `[options] principal`; with internal whitespace, everything before the last blank is options.
 */
function matchPrincipals(text: string, certificate: Certificate): AuthorizedKeyOptions | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t]+/, '').replace(/#.*$/, '').replace(/[\r\n \t]+$/, '');
    if (line === '') continue;
    const split = Math.max(line.lastIndexOf(' '), line.lastIndexOf('\t'));
    const principal = split < 0 ? line : line.slice(split + 1);
    if (!certificate.principals.includes(principal)) continue;
    try {
      return parseAuthorizedKeyOptions(split < 0 ? '' : line.slice(0, split).replace(/[ \t]+$/, ''));
    } catch {
      continue; // sshd: "bad principals options", the line does not match
    }
  }
  return undefined;
}

/** auth_authorise_keyopts for an authorized_keys or principals line's options. */
function authoriseOptions(options: AuthorizedKeyOptions, allowCertAuthority: boolean, loc: string, policy: CertAllowedPolicy): boolean {
  if (options.expiryTime && options.expiryTime.getTime() < Date.now()) return false;
  if (options.principals && !options.certAuthority) return false;
  if (!allowCertAuthority && options.certAuthority) return false;
  if (options.from) {
    const { address, owner } = policy.lookup;
    const required = options.from.join(',');
    if (matchHostAndAddress(address, address, required) !== 1) {
      policy.log.info(
        `${loc}: Authentication tried for ${owner.name} with correct key but not from a permitted host ` +
          `(host=${address}, ip=${address}, required=${required}).`,
      );
      return false;
    }
  }
  return true;
}

/** addr_match_cidr_list: 1 when `address` is in the list of addresses / CIDR blocks, 0 when not, -1 when the list is invalid. */
function cidrListMatch(address: string | null, list: string): 1 | 0 | -1 {
  for (const entry of list.split(',')) {
    const [net, bits, extra] = entry.split('/');
    if (extra !== undefined || !net || parseAddress(net) === null) return -1;
    if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return -1;
  }
  const result = addrMatchList(address, list);
  if (result === -2) return -1;
  return result === 1 ? 1 : 0;
}

/** The certificate's source-address critical option against the client's address. */
function authoriseSourceAddress(sourceAddress: string | undefined, loc: string, policy: CertAllowedPolicy): boolean {
  if (sourceAddress === undefined) return true;
  const { address, owner } = policy.lookup;
  const result = cidrListMatch(address, sourceAddress);
  if (result === 1) return true;
  if (result === -1) policy.log.error(`${loc}: Certificate source-address invalid`);
  policy.log.info(
    `${loc}: Authentication tried for ${owner.name} with valid certificate but not from a permitted source address (${address}).`,
  );
  return false;
}

const EXTENSION_FLAGS: Record<string, keyof SessionRestrictions | null> = {
  'permit-X11-forwarding': 'permitX11Forwarding',
  'permit-agent-forwarding': 'permitAgentForwarding',
  'permit-port-forwarding': 'permitPortForwarding',
  'permit-pty': 'permitPty',
  'permit-user-rc': 'permitUserRc',
  // Security-key touch policy: Tether has no security keys, so nothing to relax.
  'no-touch-required': null,
};

/**
 * sshauthopt_from_cert: a certificate grants only what its extensions list; force-command and
 * source-address are its critical options. An unknown critical option makes the certificate unusable; an
 * unknown extension is logged and ignored. Undefined (already logged) when the options are unusable.
 */
function certificateOptions(certificate: Certificate, policy: CertAllowedPolicy): { restrictions: SessionRestrictions; sourceAddress?: string } | undefined {
  const restrictions: SessionRestrictions = {
    permitPty: false, permitPortForwarding: false, permitAgentForwarding: false, permitX11Forwarding: false,
    permitUserRc: false, permitOpen: [], permitListen: [], environment: [],
  };
  for (const option of certificate.extensions) {
    if (!(option.name in EXTENSION_FLAGS)) {
      policy.log.info(`Certificate extension "${option.name}" is not supported`);
      continue;
    }
    if (option.data.length !== 0) return fail(`Certificate option "${option.name}" corrupt (extra data)`, policy);
    const flag = EXTENSION_FLAGS[option.name];
    if (flag) (restrictions as unknown as Record<string, boolean>)[flag] = true;
  }
  let sourceAddress: string | undefined;
  for (const option of certificate.criticalOptions) {
    if (option.name === 'verify-required') {
      // Only security keys can verify a user; for other keys sshd has nothing to check either.
      if (option.data.length !== 0) return fail(`Certificate option "${option.name}" corrupt (extra data)`, policy);
      continue;
    }
    if (option.name !== 'force-command' && option.name !== 'source-address') {
      return fail(`Certificate critical option "${option.name}" is not supported`, policy);
    }
    let value: string;
    try {
      value = optionText(option);
    } catch {
      return fail(`Certificate option "${option.name}" corrupt (extra data)`, policy);
    }
    if (option.name === 'force-command') {
      if (restrictions.forcedCommand !== undefined) return fail('Certificate has multiple force-command options', policy);
      restrictions.forcedCommand = value;
    } else {
      if (sourceAddress !== undefined) return fail('Certificate has multiple source-address options', policy);
      if (cidrListMatch(null, value) === -1) return fail('Certificate source-address contents invalid', policy);
      sourceAddress = value;
    }
  }
  return sourceAddress === undefined ? { restrictions } : { restrictions, sourceAddress };
}
