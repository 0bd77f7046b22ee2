/**
 * `tether keygen`: ssh-keygen(1)'s key generation and the key and known_hosts chores around it, with
 * ssh-keygen's flags, messages and exit statuses (fatal errors exit 255, like OpenSSH's fatal()).
 *
 *   keygen [-q] [-t ed25519|ecdsa|rsa] [-b bits] [-C comment] [-N new] [-a rounds] [-f file]
 *   keygen -l [-v] [-E sha256|sha1|md5] [-f file]
 *   keygen -y [-P passphrase] [-f file]
 *   keygen -p [-P old] [-N new] [-a rounds] [-f file]
 *   keygen -F host | -R host | -H  [-f known_hosts]
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import {
  checkKeySize,
  checkPrivateKeyPermissions,
  findHost,
  fingerprint,
  generatePrivateKey,
  hashKnownHostsFile,
  isPrivateKeyEncrypted,
  keyTypeLabel,
  KeyFormatError,
  KeyGenerationError,
  KnownHostsFileError,
  parsePrivateKey,
  PassphraseRequiredError,
  randomArt,
  readKeysForListing,
  removeHost,
  serializePrivateKey,
  UnprotectedPrivateKeyError,
  WrongPassphraseError,
  type GeneratedKeyType,
  type SshPrivateKey,
} from '../keys/index.ts';
import { Exit, fatal, parseKeygenArguments, type KeygenSettings } from './keygen-arguments.ts';
import { readLine, readSecret } from './prompt.ts';

export interface KeygenIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}


/** The Keygen command with its streams; one instance per invocation. */
class Keygen {
  readonly io: KeygenIO;
  readonly settings: KeygenSettings;

  constructor(io: KeygenIO, settings: KeygenSettings) {
    this.io = io;
    this.settings = settings;
  }

  out(text: string): void {
    this.io.stdout.write(text + '\n');
  }

  err(text: string): void {
    this.io.stderr.write(text + '\n');
  }

  secret(prompt: string): Promise<string> {
    return readSecret(prompt, { input: this.io.stdin, output: this.io.stderr });
  }

  async run(): Promise<number> {
    switch (this.settings.mode) {
      case 'generate':
        return this.generate();
      case 'fingerprint':
        return this.printFingerprints(await this.inputFile());
      case 'print-public':
        return this.printPublic(await this.inputFile());
      case 'change-passphrase':
        return this.changePassphrase(await this.inputFile());
      case 'find-host':
        return this.findHost(this.knownHostsFile(), this.settings.host!);
      case 'remove-host':
        return this.removeHost(this.knownHostsFile(), this.settings.host!);
      case 'hash-hosts':
        return this.hashHosts(this.knownHostsFile());
    }
  }

  // ---- file names -------------------------------------------------------------------------------

  defaultIdentity(type = 'ed25519'): string {
    return join(homedir(), '.ssh', `id_${type}`);
  }

  knownHostsFile(): string {
    return this.settings.file ?? join(homedir(), '.ssh', 'known_hosts');
  }

  /** -f, or ssh-keygen's "Enter file in which the key is" question; the file must exist. */
  async inputFile(): Promise<string> {
    let file = this.settings.file;
    if (file === undefined) {
      const fallback = this.defaultIdentity();
      const answer = await readLine(`Enter file in which the key is (${fallback}): `, {
        input: this.io.stdin,
        output: this.io.stdout,
      });
      file = answer === undefined || answer === '' ? fallback : answer;
    }
    if (!existsSync(file)) fatal(`${file}: No such file or directory`);
    return file;
  }

  // ---- loading ----------------------------------------------------------------------------------

  /** Reads a private key, prompting for the passphrase when needed; errors worded like ssh-keygen's. */
  async loadPrivate(file: string, prompt: string, failurePrefix: string): Promise<SshPrivateKey> {
    try {
      checkPrivateKeyPermissions(file);
    } catch (error) {
      if (error instanceof UnprotectedPrivateKeyError) {
        this.err(error.message);
        fatal(`${failurePrefix}: bad permissions`);
      }
      throw error;
    }
    const data = readFileSync(file);
    try {
      let passphrase = this.settings.oldPassphrase;
      if (passphrase === undefined && isPrivateKeyEncrypted(data)) passphrase = await this.secret(prompt);
      return parsePrivateKey(data, passphrase);
    } catch (error) {
      if (error instanceof PassphraseRequiredError || error instanceof WrongPassphraseError) {
        fatal(`${failurePrefix}: incorrect passphrase supplied to decrypt private key`);
      }
      if (error instanceof KeyFormatError) fatal(`${failurePrefix}: ${describeFormatError(error)}`);
      throw error;
    }
  }

  // ---- generation -------------------------------------------------------------------------------

  async generate(): Promise<number> {
    const typeName = (this.settings.type ?? 'ed25519').toLowerCase();
    if (typeName !== 'ed25519' && typeName !== 'ecdsa' && typeName !== 'rsa') fatal(`unknown key type ${typeName}`);
    const type: GeneratedKeyType = typeName;
    const bits = type === 'ed25519' ? undefined : this.settings.bits;
    // Validate the size before any question is asked, as ssh-keygen does.
    try {
      checkKeySize(type, bits);
    } catch (error) {
      if (error instanceof KeyGenerationError) fatal(error.message);
      throw error;
    }
    if (!this.settings.quiet) this.out(`Generating public/private ${type} key pair.`);

    const file = await this.outputFile(type);
    const passphrase = this.settings.newPassphrase ?? (await this.askNewPassphrase(
      'Enter passphrase (empty for no passphrase): ',
    ));
    const comment = this.settings.comment ?? `${userInfo().username}@${hostname()}`;
    let key: SshPrivateKey;
    try {
      key = generatePrivateKey(type, bits, comment);
    } catch (error) {
      if (error instanceof KeyGenerationError) fatal(error.message);
      throw error;
    }
    this.savePrivate(file, key, passphrase);
    try {
      writeFileSync(`${file}.pub`, `${key.publicKey.toLine()} ${comment}\n`, { mode: 0o644 });
      chmodSync(`${file}.pub`, 0o644);
    } catch (error) {
      fatal(`Unable to save public key to ${file}.pub: ${(error as Error).message}`);
    }
    if (!this.settings.quiet) {
      this.out(`Your identification has been saved in ${file}`);
      this.out(`Your public key has been saved in ${file}.pub`);
      this.out('The key fingerprint is:');
      this.out(`${fingerprint(key.publicKey.blob, this.settings.hash)} ${comment}`);
      this.out("The key's randomart image is:");
      this.out(randomArt(key.publicKey, this.settings.hash));
    }
    return 0;
  }

  /** -f or the "Enter file in which to save the key" question, then the overwrite question. */
  async outputFile(type: GeneratedKeyType): Promise<string> {
    let file = this.settings.file;
    if (file === undefined) {
      const fallback = this.defaultIdentity(type);
      const answer = await readLine(`Enter file in which to save the key (${fallback}): `, {
        input: this.io.stdin,
        output: this.io.stdout,
      });
      file = answer === undefined || answer === '' ? fallback : answer;
      const directory = dirname(fallback);
      if (file === fallback && !existsSync(directory)) {
        mkdirSync(directory, { mode: 0o700 });
        this.out(`Created directory '${directory}'.`);
      }
    }
    if (existsSync(file)) {
      this.out(`${file} already exists.`);
      const answer = await readLine('Overwrite (y/n)? ', { input: this.io.stdin, output: this.io.stdout });
      if (!answer?.trimStart().toLowerCase().startsWith('y')) throw new Exit(1);
    }
    return file;
  }

  /** Asks twice until both answers agree (ssh-keygen loops; at end of input both answers are empty). */
  async askNewPassphrase(prompt: string): Promise<string> {
    for (;;) {
      const first = await this.secret(prompt);
      const second = await this.secret('Enter same passphrase again: ');
      if (first === second) return first;
      this.err('Passphrases do not match.  Try again.');
    }
  }

  savePrivate(file: string, key: SshPrivateKey, passphrase: string): void {
    try {
      const text = serializePrivateKey(key, { passphrase, rounds: this.settings.rounds });
      writeFileSync(file, text, { mode: 0o600 });
      // writeFileSync keeps the mode of a file it overwrites; a private key must end up 0600 regardless.
      chmodSync(file, 0o600);
    } catch (error) {
      fatal(`Saving key "${file}" failed: ${(error as Error).message}`);
    }
  }

  // ---- -y and -p --------------------------------------------------------------------------------

  async printPublic(file: string): Promise<number> {
    const key = await this.loadPrivate(file, 'Enter passphrase: ', `Load key "${file}"`);
    this.out(key.publicKey.toLine() + (key.comment ? ` ${key.comment}` : ''));
    return 0;
  }

  async changePassphrase(file: string): Promise<number> {
    const key = await this.loadPrivate(file, 'Enter old passphrase: ', `Failed to load key ${file}`);
    this.out(`Key has comment '${key.comment}'`);
    let passphrase = this.settings.newPassphrase;
    if (passphrase === undefined) {
      const first = await this.secret('Enter new passphrase (empty for no passphrase): ');
      const second = await this.secret('Enter same passphrase again: ');
      if (first !== second) throw new Exit(1, 'Pass phrases do not match.  Try again.');
      passphrase = first;
    }
    this.savePrivate(file, key, passphrase);
    this.out('Your identification has been saved with the new passphrase.');
    return 0;
  }

  // ---- -l ---------------------------------------------------------------------------------------

  printFingerprints(file: string): number {
    const keys = readKeysForListing(file);
    if (keys.length === 0) fatal(`${file} is not a key file.`);
    for (const { key, comment } of keys) {
      const label = comment ?? 'no comment';
      this.out(`${key.bits} ${fingerprint(key.blob, this.settings.hash)} ${label} (${keyTypeLabel(key.type)})`);
      if (this.settings.verbose) this.out(randomArt(key, this.settings.hash));
    }
    return 0;
  }

  // ---- known_hosts ------------------------------------------------------------------------------

  findHost(file: string, host: string): number {
    if (!existsSync(file)) fatal(`${file}: No such file or directory`);
    const found = findHost(file, host);
    for (const entry of found) {
      const marker = entry.marker === 'revoked' ? 'REVOKED' : entry.marker === 'cert-authority' ? 'CA' : '';
      if (!this.settings.quiet) this.out(`# Host ${host} found: line ${entry.line} ${marker}`);
      this.out(entry.text);
    }
    return found.length > 0 ? 0 : 1;
  }

  removeHost(file: string, host: string): number {
    if (!existsSync(file)) fatal(`${file}: No such file or directory`);
    const removed = removeHost(file, host);
    if (removed.length === 0) {
      this.err(`Host ${host} not found in ${file}`);
      return 0;
    }
    if (!this.settings.quiet) for (const entry of removed) this.out(`# Host ${host} found: line ${entry.line}`);
    this.out(`${file} updated.`);
    this.out(`Original contents retained as ${file}.old`);
    return 0;
  }

  hashHosts(file: string): number {
    if (!existsSync(file)) fatal(`${file}: No such file or directory`);
    try {
      const result = hashKnownHostsFile(file);
      for (const line of result.wildcardLines) this.err(`${file}:${line}: ignoring host name with wildcard`);
      this.out(`${file} updated.`);
      this.out(`Original contents retained as ${file}.old`);
      if (result.hadUnhashedNames) {
        this.err(`WARNING: ${file}.old contains unhashed entries`);
        this.err('Delete this file to ensure privacy of hostnames');
      }
      return 0;
    } catch (error) {
      if (!(error instanceof KnownHostsFileError)) throw error;
      for (const line of error.invalidLines) this.err(`${file}:${line}: invalid line`);
      this.err(error.message);
      this.err('Not replacing existing known_hosts file because of errors');
      return 1;
    }
  }
}

/** KeyFormatError messages carry detail after "invalid format: "; ssh-keygen prints just the category. */
function describeFormatError(error: KeyFormatError): string {
  return error.message.startsWith('invalid format') ? 'invalid format' : error.message;
}

/** Runs `tether keygen` with `argv` (the arguments after "keygen"); resolves to the exit status. */
export async function keygenMain(argv: string[], io: Partial<KeygenIO> = {}): Promise<number> {
  const streams: KeygenIO = {
    stdin: io.stdin ?? process.stdin,
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
  };
  try {
    return await new Keygen(streams, parseKeygenArguments(argv)).run();
  } catch (error) {
    if (error instanceof Exit) {
      if (error.message) streams.stderr.write(error.message + '\n');
      return error.status;
    }
    // Unexpected failures (I/O errors and the like) still end in one line, never a stack trace.
    streams.stderr.write(`tether keygen: ${(error as Error).message}\n`);
    return 255;
  }
}
