/** Combining the session restrictions that several sources (key line, certificate, earlier steps) impose. */
import type { SessionRestrictions } from './server-auth.ts';

/**
 * auth-options.c sshauthopt_merge: permissions must be granted by both; permitopen, permitlisten and
 * environment come from `primary` when it has any; forced commands must agree. Returns sshd's complaint
 * when they do not. sshd merges a certificate's options with its authorized_keys or principals line's,
 * and each authentication step's options with those of the steps before it (auth_activate_options).
 */
export function mergeRestrictions(primary: SessionRestrictions, cert: SessionRestrictions): SessionRestrictions | string {
  if (primary.forcedCommand !== undefined && cert.forcedCommand !== undefined && primary.forcedCommand !== cert.forcedCommand) {
    return 'forced command options do not match';
  }
  const forcedCommand = primary.forcedCommand ?? cert.forcedCommand;
  return {
    permitPty: primary.permitPty && cert.permitPty,
    permitPortForwarding: primary.permitPortForwarding && cert.permitPortForwarding,
    permitAgentForwarding: primary.permitAgentForwarding && cert.permitAgentForwarding,
    permitX11Forwarding: primary.permitX11Forwarding && cert.permitX11Forwarding,
    permitUserRc: primary.permitUserRc && cert.permitUserRc,
    ...(forcedCommand === undefined ? {} : { forcedCommand }),
    permitOpen: primary.permitOpen.length > 0 ? [...primary.permitOpen] : [...cert.permitOpen],
    permitListen: primary.permitListen.length > 0 ? [...primary.permitListen] : [...cert.permitListen],
    environment: primary.environment.length > 0 ? primary.environment.map((e) => ({ ...e })) : cert.environment.map((e) => ({ ...e })),
  };
}
