/**
 * UpdateHostKeys (ssh_config(5)): the client half of OpenSSH's host key rotation (PROTOCOL §2.5), with the
 * rules of ssh 9.2 (clientloop.c client_input_hostkeys, update_known_hosts; hostfile.c
 * hostfile_replace_entries). After authentication the server lists all its host keys; when the key it
 * authenticated with was found in a UserKnownHostsFile (or confirmed by the user), keys not yet recorded
 * are proved with hostkeys-prove-00@openssh.com and added, and recorded keys the server no longer has are
 * removed. Anything unusual about the host's lines (markers, wildcards, a key under another name) leaves
 * the files alone.
 */
import { readFileSync } from 'node:fs';
import { Reader } from '../wire/reader.ts';
import { Writer } from '../wire/writer.ts';
import { parsePublicKeyBlob } from '../keys/public-key.ts';
import { KeyFormatError, type PublicKey } from '../keys/types.ts';
import { entryMatchesName, formatKnownHostsLine, parseKnownHosts, type KnownHostsEntry, type KnownHostsLine } from '../keys/known-hosts.ts';
import { rewriteKnownHosts } from '../keys/known-hosts-file.ts';
import { fingerprint, keyTypeLabel, type FingerprintHash } from '../keys/fingerprint.ts';
import { knownHostsName } from '../keys/host-patterns.ts';
import type { IncomingGlobalRequest } from '../connection/connection.ts';
import type { HostKeyAcceptance } from './host-key-policy.ts';
import type { SshClient } from './client.ts';

export const HOSTKEYS_REQUEST = 'hostkeys-00@openssh.com';
export const HOSTKEYS_PROVE_REQUEST = 'hostkeys-prove-00@openssh.com';

/** A server announcing more keys than this is not rotating keys; the rest are ignored. */
const MAX_ANNOUNCED_KEYS = 256;
/** clientloop.c HOSTKEY_PROOF_RSA_ALGS: without an RSA host key algorithm negotiated, the proofs ssh takes. */
const PROOF_RSA_ALGORITHMS = ['rsa-sha2-512', 'rsa-sha2-256'];

type Level = 'error' | 'info' | 'verbose' | 'debug';

export interface HostKeyUpdateOptions {
  mode: 'yes' | 'ask';
  /** The host name as known_hosts has it: HostKeyAlias, else the host (as `[host]:port` off port 22). */
  host: string;
  port: number;
  hostKeyAlias?: string;
  /** UserKnownHostsFile: keys are added to the first; the others only lose the host's stale lines. */
  userKnownHostsFiles: readonly string[];
  /** HostKeyAlgorithms: announced keys of other types are ignored. */
  hostKeyAlgorithms: readonly string[];
  hashKnownHosts: boolean;
  fingerprintHash: FingerprintHash;
  batchMode: boolean;
  log: (level: Level, message: string) => void;
  /** UpdateHostKeys=ask: asks on the terminal; undefined when there is none. */
  ask?: (question: string) => Promise<string | undefined>;
}

/** What the server's announcement means for this host's known_hosts lines. */
interface Plan {
  keys: PublicKey[];
  /** Per key: whether a line holds it under the host's name and under its address. */
  matched: { host: boolean; ip: boolean }[];
  /** Recorded for this host but no longer announced. */
  old: PublicKey[];
  hostName: string;
  ipName: string | undefined;
}

export class HostKeyUpdate {
  private readonly options: HostKeyUpdateOptions;
  private trusted = false;
  private address: string | undefined;
  private seen = false;

  constructor(options: HostKeyUpdateOptions) {
    this.options = options;
  }

  /** The host key policy's onAccepted: only a key known from the user's files, or confirmed, vouches. */
  readonly accepted = (how: HostKeyAcceptance, address: string | undefined): void => {
    this.address = address;
    this.trusted = how === 'known' || how === 'confirmed';
    // sshconnect.c logs this one as an error; the other cases only at debug level.
    if (how === 'changed') this.options.log('error', 'UpdateHostkeys is disabled because the host key is not trusted.');
    else if (!this.trusted) this.options.log('debug', `host key ${how === 'global-file' ? 'found in GlobalKnownHostsFile' : how === 'command' ? 'found via KnownHostsCommand' : 'not known or explicitly trusted'}: disabling UpdateHostkeys`);
  };

  /** The global requests to install on the connection (ConnectOptions.globalRequests). */
  get globalRequests(): ReadonlyMap<string, (request: IncomingGlobalRequest, client: SshClient) => void> {
    return new Map([[HOSTKEYS_REQUEST, (request: IncomingGlobalRequest, client: SshClient) => this.receive(request, client)]]);
  }

  /** clientloop.c client_input_hostkeys: the answer is always success, whatever we make of it. */
  receive(request: IncomingGlobalRequest, client: SshClient): void {
    request.reply(true);
    if (!this.trusted || this.options.userKnownHostsFiles.length === 0) return;
    if (this.options.mode === 'ask' && this.options.batchMode) return;
    if (this.seen) {
      client.transport.fail(new Error('client_input_hostkeys: server already sent hostkeys'));
      return;
    }
    this.seen = true;
    void this.run(request.data, client).catch((error: Error) => this.options.log('error', error.message));
  }

  private async run(data: Buffer, client: SshClient): Promise<void> {
    const keys = this.announcedKeys(data);
    if (keys === undefined) return;
    if (keys.length === 0) return this.options.log('debug', 'client_input_hostkeys: server sent no hostkeys');
    const plan = this.plan(keys);
    if (plan === undefined) return;
    const fresh = plan.keys.filter((_, index) => !plan.matched[index]!.host && !plan.matched[index]!.ip);
    if (fresh.length === 0) return this.update(plan, []);

    // PROTOCOL §2.5: the server proves each new key with a signature over
    // string "hostkeys-prove-00@openssh.com", string session identifier, string key blob.
    const request = new Writer(4096);
    for (const key of fresh) request.string(key.blob);
    const reply = await client.connection.globalRequest(HOSTKEYS_PROVE_REQUEST, Buffer.from(request.finish()), true);
    if (client.transport.isClosed) return;
    if (!reply.success) return this.options.log('error', 'Server failed to confirm ownership of private host keys');
    const verified = this.verifyProofs(fresh, reply.data, client);
    if (verified !== undefined) await this.update({ ...plan, keys: plan.keys.filter((key) => !fresh.includes(key) || verified.includes(key)) }, verified);
  }

  /** The announced keys that HostKeyAlgorithms allows, certificates and unknown types left out. */
  private announcedKeys(data: Buffer): PublicKey[] | undefined {
    const reader = new Reader(data);
    const keys: PublicKey[] = [];
    for (let count = 0; reader.remaining > 0 && count < MAX_ANNOUNCED_KEYS; count++) {
      let key: PublicKey;
      try {
        key = parsePublicKeyBlob(reader.string(16 * 1024));
      } catch (error) {
        if (error instanceof KeyFormatError) continue;
        this.options.log('error', 'client_input_hostkeys: parse key: message incomplete');
        return undefined;
      }
      const algorithms = this.options.hostKeyAlgorithms;
      const allowed = key.type === 'ssh-rsa'
        ? ['rsa-sha2-256', 'rsa-sha2-512', 'ssh-rsa'].some((name) => algorithms.includes(name))
        : algorithms.includes(key.type);
      if (!allowed) continue;
      if (keys.some((known) => known.equals(key))) {
        this.options.log('error', `client_input_hostkeys: received duplicated ${key.type} host key`);
        return undefined;
      }
      keys.push(key);
    }
    return keys;
  }

  /** clientloop.c hostkeys_find over the user's files; undefined when nothing should or may change. */
  private plan(keys: PublicKey[]): Plan | undefined {
    const { options } = this;
    const hostName = options.hostKeyAlias ?? knownHostsName(options.host, options.port);
    const ipName = this.address !== undefined ? knownHostsName(this.address, options.port) : undefined;
    const matched = keys.map(() => ({ host: false, ip: false }));
    const old: PublicKey[] = [];
    const elsewhere: KnownHostsEntry[] = [];
    let complex = false;
    let otherName = false;
    for (const entry of this.userEntries()) {
      const host = entryMatchesName(entry, hostName);
      const ip = ipName !== undefined && entryMatchesName(entry, ipName);
      if (!host && !ip) {
        if (keys.some((key) => key.equals(entry.key))) otherName = true;
        elsewhere.push(entry);
        continue;
      }
      if (entry.marker !== undefined) {
        complex = true;
        continue;
      }
      if (ipName !== undefined && entry.hosts.includes(',')) {
        if (!host) {
          otherName = true;
          continue;
        }
        if (!ip) otherName = true;
      }
      // hostspec_is_complex: wildcards, or more than the host,address that ssh writes.
      if (/[*?]/.test(entry.hosts) || entry.hosts.split(',').length > 2) {
        complex = true;
        continue;
      }
      const index = keys.findIndex((key) => key.equals(entry.key));
      if (index >= 0) {
        matched[index]!.host ||= host;
        matched[index]!.ip ||= ip;
      } else {
        old.push(entry.key);
      }
    }
    const fresh = matched.filter((m) => !m.host && !m.ip).length;
    const debug = (message: string) => options.log('debug', `client_input_hostkeys: ${message}`);
    if (fresh === 0 && old.length === 0) return debug('no new or deprecated keys from server'), undefined;
    if (complex) return debug('CA/revocation marker, manual host list or wildcard host pattern found, skipping UserKnownHostsFile update'), undefined;
    if (otherName) return debug('host key found matching a different name/address, skipping UserKnownHostsFile update'), undefined;
    // A deprecated key recorded under other names too stays: removing it here would leave those inconsistent.
    if (old.some((key) => elsewhere.some((entry) => entry.key.equals(key)))) {
      return debug(`key(s) for ${hostName}${ipName === undefined ? '' : `,${ipName}`} exist under other names; skipping UserKnownHostsFile update`), undefined;
    }
    return { keys, matched, old, hostName, ipName };
  }

  private *userEntries(): Generator<KnownHostsEntry> {
    for (const file of this.options.userKnownHostsFiles) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new Error(`hostkeys_foreach failed for ${file}: ${(error as Error).message}`);
      }
      yield* parseKnownHosts(text, file).entries;
    }
  }

  /** clientloop.c client_global_hostkeys_prove_confirm: the keys whose proof holds, or undefined on a bad one. */
  private verifyProofs(fresh: readonly PublicKey[], data: Buffer, client: SshClient): PublicKey[] | undefined {
    const negotiated = client.transport.negotiated?.hostKey;
    const rsaAlgorithm = negotiated === 'ssh-rsa' || negotiated?.startsWith('rsa-sha2-') ? negotiated : undefined;
    const sessionId = client.transport.sessionId!;
    const reader = new Reader(data);
    const verified: PublicKey[] = [];
    try {
      fresh.forEach((key, index) => {
        const signature = reader.string(16 * 1024);
        const signed = Buffer.from(new Writer(key.blob.length + 128).string(HOSTKEYS_PROVE_REQUEST).string(sessionId).string(key.blob).finish());
        let allowed: readonly string[] | undefined;
        if (key.type === 'ssh-rsa') {
          allowed = rsaAlgorithm !== undefined ? [rsaAlgorithm] : PROOF_RSA_ALGORITHMS;
          const algorithm = new Reader(signature).text(64);
          // An RSA proof in an algorithm ssh does not trust is disregarded, not fatal: the key is not added.
          if (rsaAlgorithm === undefined && !PROOF_RSA_ALGORITHMS.includes(algorithm)) return;
        }
        if (!key.verify(signed, signature, allowed)) {
          throw new Error(`client_global_hostkeys_prove_confirm: server gave bad signature for ${keyTypeLabel(key.type)} key ${index}: incorrect signature`);
        }
        verified.push(key);
      });
      reader.end('hostkeys-prove reply');
    } catch (error) {
      const message = (error as Error).message;
      this.options.log('error', message.startsWith('client_global') ? message : 'client_global_hostkeys_prove_confirm: protocol error');
      return undefined;
    }
    return verified;
  }

  /** clientloop.c update_known_hosts: reports, asks with UpdateHostKeys=ask, then edits the files. */
  private async update(plan: Plan, learned: readonly PublicKey[]): Promise<void> {
    const { options } = this;
    const asking = options.mode === 'ask';
    const level: Level = asking ? 'info' : 'verbose';
    const print = (key: PublicKey) => `${keyTypeLabel(key.type)} ${fingerprint(key.blob, options.fingerprintHash)}`;
    const lines = [
      ...learned.map((key) => `Learned new hostkey: ${print(key)}`),
      ...plan.old.map((key) => `Deprecating obsolete hostkey: ${print(key)}`),
    ];
    if (asking && lines.length > 0) {
      options.log(level, 'The server has updated its host keys.');
      options.log(level, "These changes were verified by the server's existing trusted key.");
    }
    for (const line of lines) options.log(level, line);
    if (asking && !(await this.confirm())) return;
    options.userKnownHostsFiles.forEach((file, index) => {
      try {
        this.replaceEntries(file, plan, index === 0 ? plan.keys : []);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') options.log('debug', `update_known_hosts: known hosts file ${file} does not exist`);
        else options.log('error', `hostfile_replace_entries failed for ${file}: ${(error as Error).message}`);
      }
    });
  }

  /** "Accept updated hostkeys? (yes/no): " up to three times; anything but yes declines. */
  private async confirm(): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await this.options.ask?.('Accept updated hostkeys? (yes/no): ');
      if (answer === undefined) return false;
      if (/^yes$/i.test(answer.trim())) return true;
      if (/^no$/i.test(answer.trim())) return false;
      this.options.log('info', 'Please enter "yes" or "no"');
    }
    return false;
  }

  /**
   * hostfile.c hostfile_replace_entries: the host's plain lines holding keys not in `keys` go; each key
   * then gets a line for whichever of its host name and address no line holds it under.
   */
  private replaceEntries(file: string, plan: Plan, keys: readonly PublicKey[]): void {
    const { options } = this;
    const have = keys.map(() => ({ host: false, ip: false }));
    const kept = (parsed: KnownHostsLine, line: number): boolean => {
      if (parsed.kind !== 'entry' || parsed.entry.marker !== undefined) return true;
      const host = entryMatchesName(parsed.entry, plan.hostName);
      const ip = plan.ipName !== undefined && entryMatchesName(parsed.entry, plan.ipName);
      if (!host && !ip) return true;
      const index = keys.findIndex((key) => key.equals(parsed.entry.key));
      if (index >= 0) {
        have[index]!.host ||= host;
        have[index]!.ip ||= ip;
        return true;
      }
      options.log('verbose', `${file}:${line}: Removed ${keyTypeLabel(parsed.entry.key.type)} key for host ${plan.hostName}`);
      return false;
    };
    // What to add depends on what the scan found: rewriteKnownHosts asks once every line has been seen.
    rewriteKnownHosts(file, kept, () => keys.flatMap((key, index) => {
      const { host, ip } = have[index]!;
      const wantIp = plan.ipName !== undefined;
      if (host && (ip || !wantIp)) return [];
      const [what, names] = !host && !ip
        ? ['Adding new key', wantIp ? [plan.hostName, plan.ipName!] : [plan.hostName]] as const
        : !host ? ['Fixing match (hostname)', [plan.hostName]] as const : ['Fixing match (address)', [plan.ipName!]] as const;
      options.log('verbose', `${what} for ${plan.hostName}${wantIp ? `,${plan.ipName}` : ''} to ${file}: ${key.type} ${fingerprint(key.blob, options.fingerprintHash)}`);
      return [formatKnownHostsLine(names, 22, key, { hash: options.hashKnownHosts })];
    }));
  }
}
