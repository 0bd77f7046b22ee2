/**
 * The SSH side of a held session on one session channel (docs/PROTOCOL.sessions): answers
 * hold@tether-ssh.org (§2), creates or reattaches the session in the user's holder, sends
 * session@tether-ssh.org before the shell / exec reply (§3; after the redraw on a reattach, §5), resumes on
 * resume@tether-ssh.org (§4), acknowledges input and takes the client's output acknowledgements (§7), and
 * tells a displaced channel why before closing it (§7). How the channel ends decides the session's fate
 * (§8): the client's CLOSE hangs the program up, a connection gone without one leaves it held, detached.
 *
 * The attachment is a SessionProcess, so session-channel.ts pumps it like any program; this class only adds
 * what holding needs.
 */
import type { Channel, ChannelRequest } from '../connection/channel.ts';
import {
  ACK_REQUEST, decodeHold, decodeOutputAck, decodeResume, DETACHED_REQUEST, encodeDetached, encodeInputAck, encodeSessionInfo,
  OUTPUT_ACK_SPACING, SESSION_INFO_REQUEST,
} from '../connection/persistent-session-requests.ts';
import type { EffectiveSshdSettings } from '../config/sshd/index.ts';
import type { SessionRestrictions } from '../auth/server-auth.ts';
import type { CreateHeldSession, HeldAttachment, HeldSessionFiles, HeldSessionSummary, SessionHolder } from '../sessions/holder-api.ts';
import { HeldSessionCredentials, type ConnectionCredentials } from './held-session-files.ts';
import type { SessionKind } from './session-environment.ts';
import type { ServerLogger } from './logger.ts';
import { sanitizeForLog } from './logger.ts';
import type { HolderAccount, SessionHolders } from './session-holders.ts';

/** §7: an acknowledgement at least every 16 KiB of input, and within 200 ms of unacknowledged input. */
const ACK_EVERY_BYTES = 16 * 1024;
const ACK_WITHIN_MS = 100;

/** Session names a user can type after `attach` and a log line can carry. */
const SESSION_NAME = /^[\x21-\x7e]{1,64}$/;

export interface PersistenceContext {
  holders: SessionHolders;
  account: HolderAccount;
  settings: EffectiveSshdSettings;
  restrictions: SessionRestrictions;
  log: ServerLogger;
  /** "127.0.0.1 port 51234", for the log and the reason a displaced client is given. */
  from: string;
  /** True once the connection itself is gone (its transport closed), as opposed to this channel alone. */
  connectionGone(): boolean;
  /** The connection's Kerberos ccache and forwarded agent, which held sessions get stand-ins for (§9). */
  credentials?: ConnectionCredentials;
  /** The server runs as root and sessions as their users. */
  switchUser?: boolean;
}

/** A login whose key options restrict it gets no resume token: a token logs in without those options. */
function unrestricted(restrictions: SessionRestrictions): boolean {
  return (
    restrictions.permitPty && restrictions.permitPortForwarding && restrictions.permitAgentForwarding && restrictions.permitX11Forwarding &&
    restrictions.permitUserRc && restrictions.forcedCommand === undefined && restrictions.permitOpen.length === 0 &&
    restrictions.permitListen.length === 0 && restrictions.environment.length === 0
  );
}

/** Whether this connection's settings allow holding at all (ChrootDirectory sessions are never held). */
export function persistenceEnabled(settings: EffectiveSshdSettings): boolean {
  return settings.persistentSessions && settings.chrootDirectory === null;
}

export class PersistentSession {
  private readonly channel: Channel;
  private readonly context: PersistenceContext;
  /** The name hold@ asked for ("" lets the holder choose); undefined: the client did not ask. */
  private holdName: string | undefined;
  private attachment: HeldAttachment | undefined;
  /** The attachment stopped delivering (displaced, expired, holder lost): the channel's end means nothing to it. */
  private over = false;
  private ackedInput = 0;
  private pendingInput = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  /** The session's own ccache and agent socket, led to this connection while it is attached (§9). */
  private readonly files: HeldSessionCredentials | undefined;

  constructor(channel: Channel, context: PersistenceContext) {
    this.channel = channel;
    this.context = context;
    const { account, credentials, switchUser, log } = context;
    this.files = credentials && new HeldSessionCredentials(credentials, { uid: account.uid, gid: account.gid, switchUser: switchUser ?? false }, log);
  }

  /** The client takes part in the extension (it sent hold@ or resume@): it gets session@, ack@ and detached@. */
  get participating(): boolean {
    return this.holdName !== undefined;
  }

  get held(): HeldAttachment | undefined {
    return this.attachment;
  }

  /** Whether the connection itself is gone (rather than the client having closed or EOF'd the channel). */
  readonly connectionGone = (): boolean => this.context.connectionGone();

  private get enabled(): boolean {
    return persistenceEnabled(this.context.settings);
  }

  /** Whether a session of this kind is held: a terminal's, or any shell / exec the client asked to hold. */
  wouldHold(request: SessionKind, terminal: boolean): boolean {
    return this.enabled && request.kind !== 'subsystem' && (terminal || this.holdName !== undefined);
  }

  /** Runs `use` with the user's holder; undefined (logged) when it cannot be reached. */
  async withHolder<T>(what: string, use: (holder: SessionHolder) => Promise<T>): Promise<T | undefined> {
    const { holders, account, settings, log } = this.context;
    try {
      return await holders.with(account, settings, use);
    } catch (error) {
      log.error(`error: session holder for ${sanitizeForLog(account.name)} unavailable (${what}): ${sanitizeForLog((error as Error).message, 256)}; session not held`);
      return undefined;
    }
  }

  /** §2 hold@tether-ssh.org: true when the session will be held (the holder answers). */
  async answerHold(request: ChannelRequest): Promise<boolean> {
    if (!this.enabled || !unrestricted(this.context.restrictions) || this.holdName !== undefined) return false;
    const name = decodeHold(request.data);
    if (name !== '' && !SESSION_NAME.test(name)) return false;
    const reachable = await this.withHolder('hold', (holder) => holder.list());
    if (reachable === undefined) return false;
    this.holdName = name;
    return true;
  }

  /** The session hold@ named, when the user already has it: the following shell / exec attaches to it (§2). */
  async existingByHoldName(): Promise<HeldSessionSummary | undefined> {
    if (!this.holdName) return undefined;
    const list = await this.withHolder('list', (holder) => holder.list());
    return list?.find((summary) => summary.name === this.holdName && !summary.exited);
  }

  /**
   * A new held session; undefined (logged) when the holder cannot take it, so the caller runs it unheld. The
   * program's environment names the session's own ccache and agent socket instead of the connection's (§9).
   */
  async create(request: Omit<CreateHeldSession, 'name' | 'logSize' | 'idleTimeoutSeconds' | 'files'>): Promise<HeldAttachment | undefined> {
    const { settings } = this.context;
    const env = { ...request.program.env };
    const files: HeldSessionFiles = this.files?.prepare(env) ?? {};
    const full: CreateHeldSession = {
      ...request,
      program: { ...request.program, env },
      name: this.holdName || undefined,
      logSize: settings.persistentSessionLogSize,
      idleTimeoutSeconds: settings.persistentSessionTimeout,
      ...(Object.keys(files).length > 0 ? { files } : {}),
    };
    const attachment = await this.withHolder('create', (holder) => holder.create(full));
    if (!attachment) this.files?.discard(files);
    return attachment;
  }

  /** §5: the session by name, redrawn; undefined when the user has none by that name. */
  attachByName(name: string): Promise<HeldAttachment | undefined> {
    const reason = `session ${name} taken over by a client from ${this.context.from}`;
    return this.withHolder('attach', (holder) => holder.attach({ name, replay: 'screen', reason }));
  }

  /** §4 resume@tether-ssh.org: the attachment, or undefined (the request fails) when there is no such session. */
  async resume(request: ChannelRequest): Promise<HeldAttachment | undefined> {
    if (!this.enabled || !unrestricted(this.context.restrictions)) return undefined;
    const { id, outputReceived, errorReceived } = decodeResume(request.data);
    const reason = `session resumed by a client from ${this.context.from}`;
    const attachment = await this.withHolder('resume', (holder) =>
      holder.attach({ id, replay: 'offsets', outputFrom: outputReceived, errorFrom: errorReceived, reason }),
    );
    if (!attachment) {
      this.context.log.verbose(`resume of session ${sanitizeForLog(id, 64)} for ${sanitizeForLog(this.context.account.name)} refused: no such session`);
      return undefined;
    }
    this.holdName = attachment.summary.name;
    return attachment;
  }

  /**
   * The attachment is in place: the redraw of a reattach first, then (to a participating client) session@
   * with the offsets of what follows (§3, §5), then acknowledgements and the watch on how it ends. Call it
   * before the shell / exec / resume reply and before pumping the program's output.
   */
  begin(attachment: HeldAttachment): void {
    this.attachment = attachment;
    const channel = this.channel;
    if (attachment.reattached) this.files?.attach(attachment.summary.files);
    if (attachment.redraw.length > 0) channel.write(attachment.redraw);
    if (this.participating) {
      const info = {
        id: attachment.summary.id,
        name: attachment.summary.name,
        token: attachment.token,
        inputOffset: attachment.inputOffset,
        outputOffset: attachment.outputOffset,
        errorOffset: attachment.errorOffset,
        inputClosed: attachment.inputClosed,
        reattached: attachment.reattached,
        // Sent only when it differs from §7's default, so that the message stays as before for most sessions.
        ...(attachment.outputAckSpacing !== undefined && attachment.outputAckSpacing !== OUTPUT_ACK_SPACING ? { outputAckSpacing: attachment.outputAckSpacing } : {}),
      };
      void channel.request(SESSION_INFO_REQUEST, encodeSessionInfo(info), false);
      this.ackedInput = attachment.inputOffset;
      attachment.onInputAck((offset) => this.inputTaken(offset));
    }
    const { account, log } = this.context;
    log.verbose(`${attachment.reattached ? 'Reattached' : 'Holding'} session ${sanitizeForLog(attachment.summary.name, 64)} for ${sanitizeForLog(account.name)} from ${this.context.from}`);
    void attachment.ended.then((end) => {
      this.files?.release();
      if (end.kind === 'exited') return;
      this.over = true;
      this.stopAcks();
      if (channel.isClosing) return;
      if (end.kind === 'displaced') {
        log.verbose(`session ${sanitizeForLog(attachment.summary.name, 64)} of ${sanitizeForLog(account.name)} detached from ${this.context.from}: ${sanitizeForLog(end.reason, 256)}`);
        // A stock client ignores detached@ (RFC 4254 §5.4 unknown request): tell its user on stderr instead.
        if (this.participating) void channel.request(DETACHED_REQUEST, encodeDetached(end.reason.slice(0, 1000)), false);
        else channel.writeExtended(Buffer.from(`\r\n[detached: ${end.reason}]\r\n`), 1);
      } else if (end.kind === 'holder-lost') {
        log.error(`error: session holder of ${sanitizeForLog(account.name)} went away; closing the channel of session ${sanitizeForLog(attachment.summary.name, 64)}`);
      }
      channel.close();
    });
  }

  /** §7 ack@tether-ssh.org from the client: stdout and stderr bytes received. */
  clientAck(request: ChannelRequest): boolean {
    if (!this.attachment) return false;
    const { outputReceived, errorReceived } = decodeOutputAck(request.data);
    this.attachment.acknowledgeOutput(outputReceived, errorReceived);
    return true;
  }

  /** The program took input up to `offset`: acknowledged at once past 16 KiB, else within ACK_WITHIN_MS. */
  private inputTaken(offset: number): void {
    this.pendingInput = Math.max(this.pendingInput, offset);
    if (this.pendingInput - this.ackedInput >= ACK_EVERY_BYTES) return this.flushAck();
    if (this.ackTimer === undefined && this.pendingInput > this.ackedInput) {
      this.ackTimer = setTimeout(() => this.flushAck(), ACK_WITHIN_MS);
      this.ackTimer.unref();
    }
  }

  private flushAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.over || this.pendingInput <= this.ackedInput || this.channel.isClosing) return;
    this.ackedInput = this.pendingInput;
    void this.channel.request(ACK_REQUEST, encodeInputAck(this.ackedInput), false);
  }

  private stopAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  /**
   * The channel is closed (§8): by the client's CLOSE the program is hung up; when the whole connection went
   * away the session stays held, detached. Nothing for an attachment another channel has taken over.
   */
  channelClosed(): void {
    this.stopAcks();
    this.files?.release();
    const attachment = this.attachment;
    if (!attachment || this.over) return;
    this.over = true;
    if (this.context.connectionGone()) attachment.detach();
    else attachment.hangUp();
  }

  /**
   * exit-status, EOF and CLOSE are on their way to the client: the holder may forget the session now, as it
   * would when the connection ends after the exit (§8). Said at once, not at the client's CLOSE: `tether
   * server -i` ends with its connection, and a goodbye left for the CLOSE never left the process, so the
   * holder kept an exited session until PersistentSessionTimeout.
   */
  exitDelivered(): void {
    this.stopAcks();
    this.detachOnce();
  }

  /** The connection ended (however): the session stays held. */
  connectionEnded(): void {
    this.stopAcks();
    this.files?.release();
    this.detachOnce();
  }

  private detachOnce(): void {
    if (!this.attachment || this.over) return;
    this.over = true;
    this.attachment.detach();
  }
}
