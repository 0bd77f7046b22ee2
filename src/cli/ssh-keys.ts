/**
 * The publickey candidates of `tether ssh`, in ssh's order (sshconnect2.c pubkey_prepare): CertificateFile
 * certificates, the agent's keys (unless IdentitiesOnly), an identity file the agent holds being signed by the agent even when only its
 * public half is on disk, then the identity files the agent does not hold. A key loaded from a file is added
 * to the agent when AddKeysToAgent says so.
 */
import { certificateFileKeys, identityFileKeys } from '../client/identities.ts';
import { addKeyToAgent, agentSocketPath, heldKeys, loadAgentKeys, selectAuthKeys } from '../agent/index.ts';
import type { AuthKey } from '../auth/client-auth.ts';
import type { ClientSettings } from './ssh-settings.ts';
import { askQuestion, askSecret } from './ssh-terminal.ts';

/** A yes/no question on the terminal (AddKeysToAgent ask). */
async function confirmOnTerminal(question: string): Promise<boolean> {
  return /^y(es)?$/i.test((await askQuestion(question))?.trim() ?? '');
}

/** The keys, loaded on the first pull; the agent connection stays open until authentication is over. */
export function authenticationKeys(
  config: ClientSettings['resolved'],
  interactive: boolean,
  log: (level: number, message: string) => void,
  debug: ((message: string) => void) | undefined,
): AsyncIterable<AuthKey> {
  return heldKeys(async () => {
    const agent = await loadAgentKeys({ socketPath: agentSocketPath(config.identityAgent), debug });
    const addMode = config.addKeysToAgent.mode;
    const identityFiles = identityFileKeys(config.identityFiles, {
      passphrase: interactive ? askSecret : undefined,
      attempts: config.numberOfPasswordPrompts,
      warn: (message) => log(2, message),
      info: (message) => log(3, message),
      debug,
      onLoaded: agent && addMode !== 'no'
        ? async (path, key) => {
            await addKeyToAgent({ client: agent.client, key, path, mode: addMode, lifetime: config.addKeysToAgent.lifetimeSeconds, ask: confirmOnTerminal, debug });
          }
        : undefined,
    });
    return {
      keys: selectAuthKeys({
        agentKeys: agent?.keys ?? [],
        identityFiles,
        certificates: certificateFileKeys(config.certificateFiles, { debug }),
        identitiesOnly: config.identitiesOnly,
      }),
      release: () => agent?.close(),
    };
  });
}
