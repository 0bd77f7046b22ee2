// PerSourcePenalties (sshd_config(5) of OpenSSH 9.8): the settings, their defaults and how a parse pass's
// partial values are completed. Enforced by src/server/penalties.ts.

/** PerSourcePenalties (sshd_config(5) of OpenSSH 9.8): seconds per event, the table's bounds and overflow. */
export interface PerSourcePenalties {
  enabled: boolean;
  crash: number;
  authfail: number;
  noauth: number;
  graceExceeded: number;
  max: number;
  min: number;
  maxSources4: number;
  maxSources6: number;
  overflow: 'permissive' | 'deny-all';
  overflow6: 'permissive' | 'deny-all';
}

/**
 * OpenSSH 9.8's values (servconf.c fill_default_server_options), except that penalties start disabled: they
 * are not in OpenSSH 9.2, whose behaviour a configuration without PerSourcePenalties keeps (sshd 9.8 with
 * them on fails 9.2's own regress tests, e.g. login-timeout). `PerSourcePenalties yes`, or any penalty
 * setting, turns them on with these values.
 */
export const PER_SOURCE_PENALTY_DEFAULTS: PerSourcePenalties = {
  enabled: false,
  crash: 90,
  authfail: 5,
  noauth: 1,
  graceExceeded: 20,
  max: 600,
  min: 15,
  maxSources4: 65536,
  maxSources6: 65536,
  overflow: 'permissive',
  overflow6: 'permissive',
};

/** The full penalty settings from what the configuration set. */
export function perSourcePenalties(set: Partial<PerSourcePenalties> | undefined): PerSourcePenalties {
  const out = { ...PER_SOURCE_PENALTY_DEFAULTS, ...set };
  // overflow6 follows overflow unless set itself (servconf.c).
  if (set?.overflow6 === undefined) out.overflow6 = out.overflow;
  return out;
}
