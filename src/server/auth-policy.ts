/**
 * The server's authentication policy for one connection: once the client names a user, look the account
 * up, apply the Match blocks for this user and address, decide whether the user may log in at all, and
 * assemble the enabled methods (publickey against authorized_keys, password and keyboard-interactive
 * against the password verifier) for the protocol engine in src/auth/server-auth.ts.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { SshdConfig, EffectiveSshdSettings } from '../config/sshd/index.ts';
import { resolveForConnection } from '../config/sshd/index.ts';
import type { AuthEvent, ServerAuthMethod, ServerAuthPolicy, SessionRestrictions, UserAuthPlan } from '../auth/server-auth.ts';
import { PublickeyMethod } from '../auth/server-publickey.ts';
import { ResumeMethod } from '../auth/server-resume.ts';
import { GssapiWithMicMethod } from '../auth/server-gssapi.ts';
import { gssapi, gssapiUnavailableReason } from '../auth/gssapi/gssapi-addon.ts';
import type { AcceptorContext } from '../auth/gssapi/gssapi-context.ts';
import { KeyboardInteractiveMethod, PasswordMethod, type PasswordVerifier } from '../auth/server-password.ts';
import { restrictionsOf } from '../auth/server-authorized-keys.ts';
import { userKeyAllowed } from '../auth/server-key-allowed.ts';
import { userCertificateAllowed } from '../auth/server-cert-allowed.ts';
import type { Certificate } from '../keys/certificate.ts';
import { fingerprint, isFingerprintHash, type FingerprintHash, type PublicKey } from '../keys/index.ts';
import { runAuthorizedKeysCommand } from './authorized-keys-command.ts';
import { lookupAccount, type UserAccount } from './accounts.ts';
import { loginRefusal, rootLoginAllowed } from './access-policy.ts';
import type { ServerLogger } from './logger.ts';
import { sanitizeForLog } from './logger.ts';
import type { SessionHolders } from './session-holders.ts';

export interface ConnectionEndpoints {
  peer: { address: string; port: number };
  local: { address: string; port: number };
}

export interface AuthPolicyOptions {
  config: SshdConfig;
  endpoints: ConnectionEndpoints;
  passwords: PasswordVerifier;
  logger: ServerLogger;
  /**
   * A non-root server can only run sessions as itself: then only this account may log in, and it is used
   * without a lookup. Undefined means any local account (the server runs as root).
   */
  onlyAccount?: UserAccount;
  /** The users' session holders: with PersistentSessions on, resume@tether-ssh.org tokens are checked there. */
  holders?: SessionHolders;
}

/** auth2.c auth2_read_banner: the file is sent whole; an empty one, or one over 1 MiB, is not sent at all. */
const MAX_BANNER_BYTES = 1024 * 1024;

function readBanner(path: string | null): string | undefined {
  if (path === null) return undefined;
  try {
    const bytes = readFileSync(path);
    if (bytes.length === 0 || bytes.length > MAX_BANNER_BYTES) return undefined;
    return bytes.toString('utf8');
  } catch {
    return undefined;
  }
}

let gssapiChecked = false;

/** Whether native/gssapi is loaded; the first time it is not, the server says why (once per process). */
function gssapiAvailableOnce(logger: ServerLogger): boolean {
  const reason = gssapiUnavailableReason();
  if (reason !== undefined && !gssapiChecked) logger.error(`GSSAPIAuthentication is set but GSSAPI is unavailable: ${reason}`);
  gssapiChecked = true;
  return reason === undefined;
}

/** FingerprintHash for log lines; hashes the key layer does not print fall back to SHA256. */
function logFingerprintHash(setting: string): FingerprintHash {
  const hash = setting.toLowerCase();
  return isFingerprintHash(hash) ? hash : 'sha256';
}

export class ConnectionAuthPolicy implements ServerAuthPolicy {
  private readonly options: AuthPolicyOptions;
  /** Set by planFor: the account (null for an invalid user) and the settings after Match. */
  account: UserAccount | null = null;
  settings: EffectiveSshdSettings;
  user: string | undefined;
  /** A method other than "none" was tried (sshd's auth_attempted, for PerSourcePenalties' authfail). */
  attempted = false;
  /** gssapi-with-mic, when enabled: after its success it holds the established context (delegated credential). */
  private gssapiMethod: GssapiWithMicMethod | undefined;

  constructor(options: AuthPolicyOptions) {
    this.options = options;
    this.settings = options.config.settings;
  }

  private get from(): string {
    const { peer } = this.options.endpoints;
    return `${peer.address} port ${peer.port}`;
  }

  async planFor(user: string): Promise<UserAuthPlan> {
    const { config, endpoints, logger, onlyAccount } = this.options;
    this.user = user;
    const account = onlyAccount ? (onlyAccount.name === user ? onlyAccount : null) : await lookupAccount(user);
    const settings = resolveForConnection(config, {
      user,
      address: endpoints.peer.address,
      localAddress: endpoints.local.address,
      localPort: endpoints.local.port,
      groups: account?.groups ?? [],
    });
    this.settings = settings;
    let valid = account !== null;
    if (!account) {
      logger.info(`Invalid user ${sanitizeForLog(user)} from ${this.from}`);
    } else {
      const refusal = loginRefusal(account, settings, endpoints.peer);
      if (refusal) {
        logger.info(refusal);
        valid = false;
      }
    }
    this.account = valid ? account : null;

    const methods: ServerAuthMethod[] = [];
    const fingerprintHash = logFingerprintHash(settings.fingerprintHash);
    if (settings.pubkeyAuthentication) {
      methods.push(
        new PublickeyMethod({
          acceptedAlgorithms: settings.pubkeyAcceptedAlgorithms,
          requiredRsaBits: settings.requiredRSASize,
          caSignatureAlgorithms: settings.caSignatureAlgorithms,
          authorize: (key, certificate) => this.authorizeKey(key, certificate, settings, fingerprintHash),
          log: (message) => logger.info(message),
          fingerprintHash,
        }),
      );
    }
    // auth2.c's order: none, publickey, gssapi-with-mic, password, keyboard-interactive.
    if (settings.gssapiAuthentication && gssapiAvailableOnce(logger)) {
      this.gssapiMethod = new GssapiWithMicMethod({
        // GSSAPIStrictAcceptorCheck yes: only this host's own key accepts (gss-serv.c ssh_gssapi_acquire_cred).
        acceptorName: settings.gssapiStrictAcceptorCheck ? `host@${hostname()}` : null,
        userok: (principal, localUser) => gssapi().kuserok(principal, localUser),
        log: (message) => logger.info(message),
      });
      methods.push(this.gssapiMethod);
    }
    const passwordOptions = { verifier: this.options.passwords, permitEmpty: settings.permitEmptyPasswords };
    if (settings.passwordAuthentication) methods.push(new PasswordMethod(passwordOptions));
    if (settings.kbdInteractiveAuthentication) methods.push(new KeyboardInteractiveMethod(passwordOptions));
    const holders = this.options.holders;
    if (holders && settings.persistentSessions && settings.chrootDirectory === null && account) {
      // Only a holder that already runs can know a token: none is started for an unauthenticated client.
      methods.push(new ResumeMethod(async (name, sessionId, proof, connectionSessionId) =>
        holders.running(account, settings) &&
        holders.with(account, settings, (holder) => holder.spendToken(sessionId, proof, connectionSessionId, name)),
      ));
    }

    const from = this.from;
    return {
      valid,
      maxAuthTries: settings.maxAuthTries,
      requiredMethodLists: settings.authenticationMethods.map((list) => list.split(',')),
      methods,
      banner: readBanner(settings.banner),
      vetoSuccess: (method, restrictions) => {
        if (account?.uid === 0 && !rootLoginAllowed(settings, method, restrictions.forcedCommand !== undefined)) {
          return `ROOT LOGIN REFUSED FROM ${from}`;
        }
        return undefined;
      },
    };
  }

  /** After a gssapi-with-mic success: its established context, for the delegated credential (taken once). */
  takeGssapiContext(): AcceptorContext | undefined {
    return this.gssapiMethod?.takeEstablished();
  }

  /**
   * sshd's user_key_allowed for the account being authenticated: RevokedKeys, AuthorizedKeysFile,
   * TrustedUserCAKeys (for a certificate), AuthorizedKeysCommand.
   */
  private async authorizeKey(
    key: PublicKey,
    certificate: Certificate | undefined,
    settings: EffectiveSshdSettings,
    fingerprintHash: FingerprintHash,
  ): Promise<SessionRestrictions | undefined> {
    const account = this.account;
    if (!account) return undefined;
    const { logger, endpoints } = this.options;
    const command = settings.authorizedKeysCommand;
    const commandUser = settings.authorizedKeysCommandUser;
    const keysCommand = async (offered: PublicKey): Promise<{ text: string; label: string } | undefined> => {
      if (command === null) return undefined;
      if (commandUser === null) {
        logger.error('No user for AuthorizedKeysCommand specified, skipping');
        return undefined;
      }
      const text = await runAuthorizedKeysCommand({ command, commandUser, account, key: offered, fingerprintHash, connection: endpoints, logger });
      return text === undefined ? undefined : { text, label: command };
    };
    const lookup = {
      owner: account,
      files: settings.authorizedKeysFiles,
      strictModes: settings.strictModes,
      address: endpoints.peer.address,
      log: (message: string) => logger.info(message),
    };
    const commandSet = command !== null && command.toLowerCase() !== 'none';
    const principalsCommand = settings.authorizedPrincipalsCommand;
    const principalsCommandSet = principalsCommand !== null && principalsCommand.toLowerCase() !== 'none';
    if (certificate) {
      return userCertificateAllowed(certificate, {
        lookup,
        revokedKeysFile: settings.revokedKeys,
        trustedUserCAKeys: settings.trustedUserCAKeys,
        authorizedPrincipalsFile: settings.authorizedPrincipalsFile,
        fingerprintHash,
        log: logger,
        ...(principalsCommandSet ? { principalsCommand: (offered: Certificate) => this.runPrincipalsCommand(offered, settings, fingerprintHash) } : {}),
        // The command's %k %t %f name the certified key, not the certificate.
        ...(commandSet ? { keysCommand: () => keysCommand(key) } : {}),
      });
    }
    const entry = await userKeyAllowed(key, {
      lookup,
      revokedKeysFile: settings.revokedKeys,
      fingerprintHash,
      logError: (message) => logger.error(message),
      keysCommand: commandSet ? keysCommand : undefined,
    });
    return entry ? restrictionsOf(entry) : undefined;
  }

  /** AuthorizedPrincipalsCommand for a certificate (auth2-pubkey.c match_principals_command), with its tokens. */
  private async runPrincipalsCommand(certificate: Certificate, settings: EffectiveSshdSettings, fingerprintHash: FingerprintHash): Promise<string | undefined> {
    const account = this.account;
    const command = settings.authorizedPrincipalsCommand;
    const commandUser = settings.authorizedPrincipalsCommandUser;
    if (!account || command === null) return undefined;
    const { logger, endpoints } = this.options;
    if (commandUser === null) {
      logger.error('No user for AuthorizedPrincipalsCommand specified, skipping');
      return undefined;
    }
    const ca = certificate.signatureKey;
    return runAuthorizedKeysCommand({
      command,
      commandUser,
      account,
      key: certificate.key,
      fingerprintHash,
      connection: endpoints,
      logger,
      tag: 'AuthorizedPrincipalsCommand',
      tokens: {
        t: certificate.type,
        k: certificate.blob.toString('base64'),
        T: ca.type,
        F: fingerprint(ca.blob, fingerprintHash),
        K: ca.blob.toString('base64'),
        i: certificate.keyId,
        s: String(certificate.serial),
      },
    });
  }

  onEvent(event: AuthEvent): void {
    const { logger } = this.options;
    if (event.kind === 'too-many-failures' || event.method !== 'none') this.attempted = true;
    const from = this.from;
    switch (event.kind) {
      case 'accepted':
      case 'partial':
      case 'failed':
      case 'postponed': {
        const verb = { accepted: 'Accepted', partial: 'Partial', failed: 'Failed', postponed: 'Postponed' }[event.kind];
        const who = event.valid ? sanitizeForLog(event.user) : `invalid user ${sanitizeForLog(event.user)}`;
        const line = `${verb} ${sanitizeForLog(event.method, 64)} for ${who} from ${from} ssh2${event.detail ? `: ${event.detail}` : ''}`;
        if (event.important) logger.info(line);
        else logger.verbose(line);
        return;
      }
      case 'refused':
        logger.info(event.reason);
        return;
      case 'too-many-failures': {
        const who = `${event.valid ? '' : 'invalid user '}${sanitizeForLog(event.user)}`;
        logger.error(`maximum authentication attempts exceeded for ${who} from ${from} ssh2 [preauth]`);
        logger.info(`Disconnecting ${event.valid ? 'authenticating' : 'invalid'} user ${sanitizeForLog(event.user)} ${from}: Too many authentication failures [preauth]`);
        return;
      }
    }
  }
}
