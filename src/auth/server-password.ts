/**
 * The "password" (RFC 4252 §8) and "keyboard-interactive" (RFC 4256) methods on the server. Both check a
 * password through a PasswordVerifier; keyboard-interactive asks one "Password: " question, as sshd does
 * through PAM. Password changes are not offered.
 */
import { Writer } from '../wire/writer.ts';
import { SSH_MSG } from '../wire/message-numbers.ts';
import { ProtocolError } from '../wire/errors.ts';
import { Reader } from '../wire/reader.ts';
import type { AuthAttemptContext, MethodResult, ServerAuthMethod } from './server-auth.ts';

/** Checks a user's password. For users that do not exist it must still take as long (user undefined). */
export interface PasswordVerifier {
  verify(user: string | undefined, password: string): Promise<boolean>;
}

export interface PasswordMethodOptions {
  verifier: PasswordVerifier;
  /** PermitEmptyPasswords. */
  permitEmpty: boolean;
}

async function check(options: PasswordMethodOptions, context: AuthAttemptContext, password: string): Promise<boolean> {
  if (password === '' && !options.permitEmpty) {
    await options.verifier.verify(undefined, 'not-a-password');
    return false;
  }
  // A long "password" is a denial-of-service attempt on the hash, not a password (sshd caps at 1024).
  if (password.length > 1024) return false;
  return options.verifier.verify(context.valid ? context.user : undefined, password);
}

export class PasswordMethod implements ServerAuthMethod {
  readonly name = 'password';
  private readonly options: PasswordMethodOptions;

  constructor(options: PasswordMethodOptions) {
    this.options = options;
  }

  async attempt(body: Reader, context: AuthAttemptContext): Promise<MethodResult> {
    const changing = body.boolean();
    const password = body.text(64 * 1024);
    if (changing) {
      body.text(64 * 1024);
      return { outcome: 'failure', detail: 'password change not supported' };
    }
    body.end('password request');
    return (await check(this.options, context, password)) ? { outcome: 'success' } : { outcome: 'failure' };
  }
}

/** RFC 4256 §3.2: one prompt, not echoed. */
const PASSWORD_PROMPT = 'Password: ';

export class KeyboardInteractiveMethod implements ServerAuthMethod {
  readonly name = 'keyboard-interactive';
  private readonly options: PasswordMethodOptions;

  constructor(options: PasswordMethodOptions) {
    this.options = options;
  }

  async attempt(body: Reader, context: AuthAttemptContext): Promise<MethodResult> {
    body.text(256); // language tag (deprecated)
    body.text(1024); // submethods: we have only one
    context.send(
      Buffer.from(
        new Writer(64)
          .byte(SSH_MSG.USERAUTH_INFO_REQUEST)
          .string('') // name
          .string('') // instruction
          .string('') // language tag
          .uint32(1)
          .string(PASSWORD_PROMPT)
          .boolean(false)
          .finish(),
      ),
    );
    const reply = await context.next();
    if (reply[0] !== SSH_MSG.USERAUTH_INFO_RESPONSE) {
      throw new ProtocolError(`expected USERAUTH_INFO_RESPONSE, got message ${reply[0]}`);
    }
    const reader = new Reader(reply, 1);
    const count = reader.uint32();
    if (count > 16) throw new ProtocolError('too many keyboard-interactive responses');
    const responses: string[] = [];
    for (let i = 0; i < count; i++) responses.push(reader.text(64 * 1024));
    reader.end('keyboard-interactive response');
    // No answer (count 0) is how a client gives up on the method.
    if (responses.length !== 1) return { outcome: 'failure' };
    return (await check(this.options, context, responses[0]!)) ? { outcome: 'success' } : { outcome: 'failure' };
  }
}
