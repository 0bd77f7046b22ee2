/**
 * The server's authentication policy for one connection: once the client names a user, look the account
 * up, apply the Match blocks for this user and address, decide whether the user may log in at all, and
 * assemble the enabled methods (publickey against authorized_keys, password and keyboard-interactive
 * against the password verifier) for the protocol engine in src/auth/server-auth.ts.
 */
import { readFileSync } from 'node:fs';
import type { SshdConfig, EffectiveSshdSettings } from '../config/sshd/index.ts';
import { resolveForConnection } from '../config/sshd/index.ts';
import type { AuthEvent, ServerAuthMethod, ServerAuthPolicy, UserAuthPlan } from '../auth/server-auth.ts';
import { PublickeyMethod } from '../auth/server-publickey.ts';
import { KeyboardInteractiveMethod, PasswordMethod, type PasswordVerifier } from '../auth/server-password.ts';
import { findAuthorizedKey, restrictionsOf } from '../auth/server-authorized-keys.ts';
import { lookupAccount, type UserAccount } from './accounts.ts';
import { loginRefusal, rootLoginAllowed } from './access-policy.ts';
import type { ServerLogger } from './logger.ts';
import { sanitizeForLog } from './logger.ts';

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
}

/** Banner files are small text; sshd reads them whole, we cap them. */
const MAX_BANNER_BYTES = 64 * 1024;

function readBanner(path: string | null): string | undefined {
  if (path === null) return undefined;
  try {
    return readFileSync(path).subarray(0, MAX_BANNER_BYTES).toString('utf8');
  } catch {
    return undefined;
  }
}

export class ConnectionAuthPolicy implements ServerAuthPolicy {
  private readonly options: AuthPolicyOptions;
  /** Set by planFor: the account (null for an invalid user) and the settings after Match. */
  account: UserAccount | null = null;
  settings: EffectiveSshdSettings;
  user: string | undefined;

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
    if (settings.pubkeyAuthentication) {
      methods.push(
        new PublickeyMethod({
          acceptedAlgorithms: settings.pubkeyAcceptedAlgorithms,
          requiredRsaBits: settings.requiredRSASize,
          authorize: async (key) => {
            if (!this.account) return undefined;
            const entry = await findAuthorizedKey(key, {
              owner: this.account,
              files: settings.authorizedKeysFiles,
              strictModes: settings.strictModes,
              address: endpoints.peer.address,
              log: (message) => logger.info(message),
            });
            return entry ? restrictionsOf(entry) : undefined;
          },
        }),
      );
    }
    const passwordOptions = { verifier: this.options.passwords, permitEmpty: settings.permitEmptyPasswords };
    if (settings.passwordAuthentication) methods.push(new PasswordMethod(passwordOptions));
    if (settings.kbdInteractiveAuthentication) methods.push(new KeyboardInteractiveMethod(passwordOptions));

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

  onEvent(event: AuthEvent): void {
    const { logger } = this.options;
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
