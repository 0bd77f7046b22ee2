/**
 * The client's view of the agent as a source of authentication keys, and OpenSSH's rules for combining
 * agent keys with identity files (sshconnect2.c pubkey_prepare; ssh_config(5) IdentitiesOnly,
 * AddKeysToAgent).
 */
import type { AuthKey } from '../auth/client-auth.ts';
import type { PrivateKey } from '../keys/types.ts';
import { parseCertificateBlob, type Certificate } from '../keys/certificate.ts';
import { AgentClient, AgentRequestError, connectAgent } from './agent-client.ts';
import { flagsForAlgorithm } from './protocol.ts';

/** An AuthKey whose private half lives in an agent. */
export interface AgentAuthKey extends AuthKey {
  readonly comment: string;
  readonly fromAgent: true;
}

export interface AgentKeys {
  /** The agent's keys in the agent's order (keys of types we cannot use are left out). */
  readonly keys: AgentAuthKey[];
  readonly client: AgentClient;
  close(): void;
}

/** Reads SSH_AUTH_SOCK, unless IdentityAgent names a socket (or "none", or "SSH_AUTH_SOCK"). */
export function agentSocketPath(identityAgent?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (identityAgent === undefined || identityAgent === 'SSH_AUTH_SOCK') return env.SSH_AUTH_SOCK || undefined;
  if (identityAgent === 'none') return undefined;
  // ssh_config(5): "If the string begins with a '$' character, then it will be treated as an environment variable".
  if (identityAgent.startsWith('$')) return env[identityAgent.slice(1)] || undefined;
  return identityAgent;
}

/**
 * The socket ForwardAgent hands to the server (ssh.c main, clientloop.c client_request_agent): `yes` forwards
 * SSH_AUTH_SOCK, a string starting with `$` names an environment variable (unset means no forwarding), any
 * other string is the socket's path. Undefined when nothing is forwarded.
 */
export function forwardAgentSocketPath(forwardAgent: boolean | string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (forwardAgent === false) return undefined;
  if (forwardAgent === true) return env.SSH_AUTH_SOCK || undefined;
  if (forwardAgent.startsWith('$')) return env[forwardAgent.slice(1)] || undefined;
  return forwardAgent || undefined;
}

/**
 * Turns the agent's identities into AuthKeys whose sign() asks the agent (RSA hash chosen by flags). A
 * certificate the agent holds is signed for by the agent under the certificate's blob.
 */
export async function agentAuthKeys(client: AgentClient): Promise<AgentAuthKey[]> {
  const identities = await client.list();
  const keys: AgentAuthKey[] = [];
  for (const identity of identities) {
    let certificate: Certificate | undefined;
    if (!identity.publicKey) {
      try {
        certificate = parseCertificateBlob(identity.blob);
      } catch {
        continue; // a type we cannot use (security keys, DSA)
      }
    }
    const publicKey = identity.publicKey ?? certificate!.key;
    const signingBlob = certificate?.blob ?? publicKey.blob;
    keys.push({
      publicKey,
      ...(certificate ? { certificate } : {}),
      comment: identity.comment,
      label: identity.comment || 'agent',
      fromAgent: true,
      async sign(data: Buffer, algorithm: string): Promise<Buffer> {
        const signature = await client.sign(signingBlob, data, flagsForAlgorithm(algorithm));
        // An agent that ignores the flags would answer ssh-rsa (SHA-1); refuse it as ssh does
        // (sshkey_check_sigtype), rather than send a signature the server did not ask for.
        if (signatureAlgorithm(signature) !== algorithm) {
          throw new AgentRequestError('sign', `agent returned a ${signatureAlgorithm(signature)} signature, not ${algorithm}`);
        }
        return signature;
      },
    });
  }
  return keys;
}

function signatureAlgorithm(signature: Buffer): string {
  if (signature.length < 4) return '';
  const length = signature.readUInt32BE(0);
  return signature.subarray(4, 4 + length).toString('latin1');
}

/**
 * Connects to the agent (SSH_AUTH_SOCK or the IdentityAgent path) and lists its keys. Resolves undefined
 * when there is no agent or it cannot be reached: like ssh, a missing agent is not an error.
 */
export async function loadAgentKeys(options: { socketPath?: string; debug?: (message: string) => void } = {}): Promise<AgentKeys | undefined> {
  const path = options.socketPath ?? agentSocketPath();
  if (!path) return undefined;
  let client: AgentClient;
  try {
    client = await connectAgent(path);
  } catch (error) {
    options.debug?.(`get_agent_identities: ssh_get_authentication_socket: ${(error as Error).message}`);
    return undefined;
  }
  try {
    const keys = await agentAuthKeys(client);
    return { keys, client, close: () => client.close() };
  } catch (error) {
    options.debug?.(`get_agent_identities: ssh_fetch_identitylist: ${(error as Error).message}`);
    client.close();
    return undefined;
  }
}

export interface SelectAuthKeysOptions {
  /** The agent's keys in its order (empty when there is no agent). */
  agentKeys: readonly AuthKey[];
  /** Keys of the configured identity files, in IdentityFile order (with their `-cert.pub` certificates). */
  identityFiles: readonly AuthKey[];
  /** CertificateFile certificates; they sign with whichever selected key they certify. */
  certificates?: readonly AuthKey[];
  /** ssh_config IdentitiesOnly. */
  identitiesOnly: boolean;
}

/** sshkey_equal: the same certificate, or the same bare key (a certificate never equals its bare key). */
function sameKey(a: AuthKey, b: AuthKey): boolean {
  if (a.certificate || b.certificate) return !!a.certificate && !!b.certificate && a.certificate.blob.equals(b.certificate.blob);
  return a.publicKey.blob.equals(b.publicKey.blob);
}

/**
 * The keys to offer, in OpenSSH's order (sshconnect2.c pubkey_prepare): CertificateFile certificates; then
 * the agent's keys in the agent's order, where a key that is also an identity file is offered once, under
 * the file's name, and signed by the agent (so an identity file whose private half is only in the agent, a
 * lone `.pub`, works); then the identity files the agent does not hold. With IdentitiesOnly the agent keys
 * that are not identity files are left out, so an agent full of keys cannot use up the server's
 * MaxAuthTries. A certificate signs with the first selected bare key it certifies (sign_and_send_pubkey).
 */
export function selectAuthKeys(options: SelectAuthKeysOptions): AuthKey[] {
  const files = [...options.identityFiles];
  const selected: AuthKey[] = [...(options.certificates ?? [])];
  const fromAgent: AuthKey[] = [];
  for (const agentKey of options.agentKeys) {
    const index = files.findIndex((file) => sameKey(file, agentKey));
    if (index >= 0) {
      const [file] = files.splice(index, 1);
      selected.push({ ...file!, sign: (data, algorithm) => agentKey.sign(data, algorithm) });
    } else if (!options.identitiesOnly) {
      fromAgent.push(agentKey);
    }
  }
  const ordered = [...selected, ...fromAgent, ...files];
  return ordered.map((key) => {
    if (!key.certificate) return key;
    const signer = ordered.find((other) => !other.certificate && other.publicKey.blob.equals(key.publicKey.blob));
    return signer ? { ...key, sign: (data: Buffer, algorithm: string) => signer.sign(data, algorithm) } : key;
  });
}

/** Keys loaded once, with what they need kept open (the agent connection) until authentication is over. */
export interface HeldKeys {
  keys: readonly AuthKey[];
  release(): void;
}

/**
 * An AsyncIterable over keys that `load` produces on the first pull. What they hold is released by the
 * iterator's return(), when authentication is over, and not when the last key has been handed out: after a
 * partial success the same keys are offered again and agent keys must still be able to sign.
 */
export function heldKeys(load: () => Promise<HeldKeys>): AsyncIterable<AuthKey> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<AuthKey> {
      let loaded: Promise<HeldKeys> | undefined;
      let index = 0;
      let released = false;
      return {
        async next(): Promise<IteratorResult<AuthKey>> {
          loaded ??= load();
          const { keys } = await loaded;
          if (released || index >= keys.length) return { done: true, value: undefined };
          return { done: false, value: keys[index++]! };
        },
        async return(): Promise<IteratorResult<AuthKey>> {
          if (!released && loaded) {
            released = true;
            (await loaded).release();
          }
          released = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** ssh_config AddKeysToAgent: whether (and how) a key loaded from a file is handed to the agent. */
export type AddKeysToAgentMode = 'yes' | 'no' | 'ask' | 'confirm';

export interface AddKeyToAgentOptions {
  client: AgentClient;
  key: PrivateKey;
  /** The identity file the key came from; the agent's comment when the key has none. */
  path: string;
  mode: AddKeysToAgentMode;
  /** AddKeysToAgent's optional time limit, in seconds. */
  lifetime?: number;
  /** Asks a yes/no question (for "ask"); resolving false declines. */
  ask?: (question: string) => Promise<boolean>;
  debug?: (message: string) => void;
}

/**
 * After a key file has been used, adds the key to the agent as ssh does (sshconnect2.c
 * maybe_add_key_to_agent): "ask" asks first, "confirm" adds it with the confirm constraint. Resolves true
 * when the agent took the key; failures are only logged, since the login itself already succeeded.
 */
export async function addKeyToAgent(options: AddKeyToAgentOptions): Promise<boolean> {
  if (options.mode === 'no') return false;
  const comment = options.key.comment || options.path;
  if (options.mode === 'ask') {
    const allowed = (await options.ask?.(`Add key ${options.path} (${comment}) to agent?`)) ?? false;
    if (!allowed) {
      options.debug?.('user denied adding this key');
      return false;
    }
  }
  try {
    await options.client.add(options.key, { comment, lifetime: options.lifetime, confirm: options.mode === 'confirm' });
    options.debug?.(`identity added to agent: ${options.path}`);
    return true;
  } catch (error) {
    options.debug?.(`could not add identity to agent: ${options.path} (${(error as Error).message})`);
    return false;
  }
}
