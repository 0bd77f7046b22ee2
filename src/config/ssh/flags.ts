/**
 * The `ssh` command-line flags that set configuration, applied the way ssh.c's option loop does: before any
 * file is read, so they win over configuration (some, like -A, -C or -c, override even an earlier -o).
 */
import { FatalProblem } from './errors.ts';
import { parseForward } from './forward.ts';
import { JumpSyntaxError, parseJump } from './destination.ts';
import type { OptionState } from './options.ts';
import { CONTROL_MASTER, LOG_LEVEL, REQUEST_TTY, SESSION_TYPE, TUNNEL, parseEscapeChar, parseTunnelDevice } from './values.ts';
import { isValidAlgorithmSpec } from './algorithms.ts';
import { addForward } from './keywords.ts';

/** ssh's configuration-setting flags. Counts are for repeatable flags (-t -t, -v -v -v, -M -M). */
export interface SshFlags {
  /** -4 / -6 */
  addressFamily?: 'inet' | 'inet6';
  /** -A (true) / -a (false) */
  forwardAgent?: boolean;
  /** -b */
  bindAddress?: string;
  /** -B */
  bindInterface?: string;
  /** -C */
  compression?: boolean;
  /** -c */
  ciphers?: string;
  /** -D, in order */
  dynamicForwards?: string[];
  /** -e */
  escapeChar?: string;
  /** -f (also implies -n) */
  forkAfterAuthentication?: boolean;
  /** -g */
  gatewayPorts?: boolean;
  /** -i, in order (already tilde-expanded by the caller or left with ~) */
  identityFiles?: string[];
  /** -J */
  proxyJump?: string;
  /** -K (true: enable GSSAPI auth and delegation) / -k (false: disable delegation) */
  gssapi?: boolean;
  /** -L, in order */
  localForwards?: string[];
  /** -l */
  user?: string;
  /** -M count */
  controlMaster?: number;
  /** -m */
  macs?: string;
  /** -N */
  noSession?: boolean;
  /** -n */
  stdinNull?: boolean;
  /** -p */
  port?: number;
  /** -q */
  quiet?: boolean;
  /** -R, in order */
  remoteForwards?: string[];
  /** -S */
  controlPath?: string;
  /** -s */
  subsystem?: boolean;
  /** -t count */
  forceTTY?: number;
  /** -T */
  disableTTY?: boolean;
  /** -v count */
  verbose?: number;
  /** -W host:port */
  stdioForward?: string;
  /** -w local[:remote] */
  tunnelDevice?: string;
  /** -X (true) / -x (false) */
  forwardX11?: boolean;
  /** -Y */
  forwardX11Trusted?: boolean;
}

/** Applies the flags to a fresh option record. Throws FatalProblem with ssh's message for bad values. */
export function applyFlags(s: OptionState, f: SshFlags, env: NodeJS.ProcessEnv): void {
  if (f.addressFamily !== undefined) s.addressFamily = f.addressFamily === 'inet' ? 4 : 6;
  if (f.stdinNull) s.stdinNull = 1;
  if (f.forkAfterAuthentication) {
    s.forkAfterAuthentication = 1;
    s.stdinNull = 1;
  }
  if (f.forwardX11 !== undefined) s.forwardX11 = f.forwardX11 ? 1 : 0;
  if (f.forwardX11Trusted) {
    s.forwardX11 = 1;
    s.forwardX11Trusted = 1;
  }
  if (f.gatewayPorts) s.gatewayPorts = 1;
  if (f.forwardAgent !== undefined) s.forwardAgent = f.forwardAgent ? 1 : 0;
  if (f.gssapi === true) {
    s.gssapiAuthentication = 1;
    s.gssapiDelegateCredentials = 1;
  } else if (f.gssapi === false) s.gssapiDelegateCredentials = 0;
  for (const path of f.identityFiles ?? []) {
    if (!s.identityFiles.some((e) => e.userProvided && e.path === path)) s.identityFiles.push({ path, userProvided: true });
  }
  if (f.proxyJump !== undefined) {
    let jump: ReturnType<typeof parseJump>;
    try {
      jump = parseJump(f.proxyJump, true);
    } catch (err) {
      if (err instanceof JumpSyntaxError) throw new FatalProblem(`${err.message}\nInvalid -J argument`);
      throw err;
    }
    if (jump === undefined) throw new FatalProblem('Invalid -J argument');
    if (jump === 'none') {
      s.jumpHost = 'none';
      s.jumpPort = 0;
    } else {
      s.jumpUser = jump.user;
      s.jumpHost = jump.host;
      s.jumpPort = jump.port;
      s.jumpExtra = jump.extra;
    }
    s.proxyCommand = 'none';
  }
  for (let i = 0; i < (f.forceTTY ?? 0); i++) {
    s.requestTTY = s.requestTTY === REQUEST_TTY.yes ? REQUEST_TTY.force : REQUEST_TTY.yes;
  }
  if (f.verbose !== undefined && f.verbose > 0) s.logLevel = Math.min(LOG_LEVEL.debug1 + f.verbose - 1, LOG_LEVEL.debug3);
  if (f.tunnelDevice !== undefined) {
    s.tunnel ??= TUNNEL.pointToPoint;
    const ids = parseTunnelDevice(f.tunnelDevice);
    if (ids === undefined) throw new FatalProblem(`Bad tun device '${f.tunnelDevice}'`);
    s.tunnelLocal = ids.local;
    s.tunnelRemote = ids.remote;
  }
  if (f.stdioForward !== undefined) {
    const fwd = parseForward(f.stdioForward, true, false, env);
    if (fwd === undefined) throw new FatalProblem(`Bad stdio forwarding specification '${f.stdioForward}'`);
    s.stdioForwardHost = fwd.listenHost;
    s.stdioForwardPort = fwd.listenPort;
    s.requestTTY = REQUEST_TTY.no;
    s.sessionType = SESSION_TYPE.none;
  }
  if (f.quiet) s.logLevel = LOG_LEVEL.quiet;
  if (f.escapeChar !== undefined) {
    const c = parseEscapeChar(f.escapeChar);
    if (c === undefined) throw new FatalProblem(`Bad escape character '${f.escapeChar}'.`);
    s.escapeChar = c;
  }
  if (f.ciphers !== undefined) {
    if (!isValidAlgorithmSpec('cipher', f.ciphers) || f.ciphers.startsWith('-')) {
      throw new FatalProblem(`Unknown cipher type '${f.ciphers}'`);
    }
    s.ciphers = f.ciphers;
  }
  if (f.macs !== undefined) {
    if (!isValidAlgorithmSpec('mac', f.macs) || /^[-+^]/.test(f.macs)) throw new FatalProblem(`Unknown mac type '${f.macs}'`);
    s.macs = f.macs;
  }
  for (let i = 0; i < (f.controlMaster ?? 0); i++) {
    s.controlMaster = s.controlMaster === CONTROL_MASTER.yes ? CONTROL_MASTER.ask : CONTROL_MASTER.yes;
  }
  if (f.port !== undefined) {
    if (!(f.port > 0 && f.port <= 65535)) throw new FatalProblem(`Bad port '${f.port}'`);
    s.port ??= f.port;
  }
  if (f.user !== undefined) s.user ??= f.user;
  for (const spec of f.localForwards ?? []) {
    const fwd = parseForward(spec, false, false, env);
    if (fwd === undefined) throw new FatalProblem(`Bad local forwarding specification '${spec}'`);
    addForward(s.localForwards, fwd);
  }
  for (const spec of f.remoteForwards ?? []) {
    const fwd = parseForward(spec, false, true, env) ?? parseForward(spec, true, true, env);
    if (fwd === undefined) throw new FatalProblem(`Bad remote forwarding specification '${spec}'`);
    addForward(s.remoteForwards, fwd);
  }
  for (const spec of f.dynamicForwards ?? []) {
    const fwd = parseForward(spec, true, false, env);
    if (fwd === undefined) throw new FatalProblem(`Bad dynamic forwarding specification '${spec}'`);
    addForward(s.localForwards, fwd);
  }
  if (f.compression) s.compression = 1;
  if (f.noSession) {
    if (s.sessionType !== undefined && s.sessionType !== SESSION_TYPE.none) throw new FatalProblem('Cannot specify -N with -s/SessionType');
    s.sessionType = SESSION_TYPE.none;
    s.requestTTY = REQUEST_TTY.no;
  }
  if (f.disableTTY) s.requestTTY = REQUEST_TTY.no;
  if (f.subsystem) {
    if (s.sessionType !== undefined && s.sessionType !== SESSION_TYPE.subsystem) throw new FatalProblem('Cannot specify -s with -N/SessionType');
    s.sessionType = SESSION_TYPE.subsystem;
  }
  if (f.controlPath !== undefined) s.controlPath = f.controlPath;
  if (f.bindAddress !== undefined) s.bindAddress = f.bindAddress;
  if (f.bindInterface !== undefined) s.bindInterface = f.bindInterface;
}

/**
 * Documents each flag as the `-o` option it corresponds to, where one exists (for help text and for
 * passing flags on to a nested ssh). Flags without a config keyword of their own (-N, -f, -n, -W, -q, -v, -t/-T)
 * map to the options ssh sets for them (SessionType, ForkAfterAuthentication, StdinNull, ...). -L has no
 * single-line equivalent (LocalForward takes two arguments) and is not listed.
 */
export function flagsToOptions(f: SshFlags): string[] {
  const out: string[] = [];
  const add = (k: string, v: string | number | undefined): void => {
    if (v !== undefined) out.push(`${k}=${v}`);
  };
  add('AddressFamily', f.addressFamily);
  if (f.forwardAgent !== undefined) add('ForwardAgent', f.forwardAgent ? 'yes' : 'no');
  add('BindAddress', f.bindAddress);
  add('BindInterface', f.bindInterface);
  if (f.compression) add('Compression', 'yes');
  add('Ciphers', f.ciphers);
  for (const d of f.dynamicForwards ?? []) add('DynamicForward', d);
  add('EscapeChar', f.escapeChar);
  if (f.forkAfterAuthentication) out.push('ForkAfterAuthentication=yes', 'StdinNull=yes');
  if (f.gatewayPorts) add('GatewayPorts', 'yes');
  for (const i of f.identityFiles ?? []) add('IdentityFile', i);
  add('ProxyJump', f.proxyJump);
  if (f.gssapi === true) out.push('GSSAPIAuthentication=yes', 'GSSAPIDelegateCredentials=yes');
  if (f.gssapi === false) add('GSSAPIDelegateCredentials', 'no');
  add('User', f.user);
  if ((f.controlMaster ?? 0) > 0) add('ControlMaster', f.controlMaster === 1 ? 'yes' : 'ask');
  add('MACs', f.macs);
  if (f.noSession) out.push('SessionType=none', 'RequestTTY=no');
  if (f.stdinNull) add('StdinNull', 'yes');
  add('Port', f.port);
  if (f.quiet) add('LogLevel', 'QUIET');
  for (const r of f.remoteForwards ?? []) add('RemoteForward', r);
  add('ControlPath', f.controlPath);
  if (f.subsystem) add('SessionType', 'subsystem');
  if ((f.forceTTY ?? 0) > 0) add('RequestTTY', (f.forceTTY ?? 0) > 1 ? 'force' : 'yes');
  if (f.disableTTY) add('RequestTTY', 'no');
  if ((f.verbose ?? 0) > 0) add('LogLevel', ['DEBUG1', 'DEBUG2', 'DEBUG3'][Math.min((f.verbose ?? 1) - 1, 2)]);
  if (f.stdioForward !== undefined) out.push('ClearAllForwardings=yes', 'ExitOnForwardFailure=yes', 'SessionType=none', 'RequestTTY=no');
  if (f.tunnelDevice !== undefined) out.push('Tunnel=yes', `TunnelDevice=${f.tunnelDevice}`);
  if (f.forwardX11 !== undefined) add('ForwardX11', f.forwardX11 ? 'yes' : 'no');
  if (f.forwardX11Trusted) out.push('ForwardX11=yes', 'ForwardX11Trusted=yes');
  return out;
}
