/**
 * The client's "password" method (RFC 4252 §8), as sshconnect2.c userauth_passwd: one prompt per attempt, at
 * most NumberOfPasswordPrompts of them. Changing an expired password (USERAUTH_PASSWD_CHANGEREQ) is not
 * supported: that answer counts as a failed attempt and ends the method.
 */
import { Writer } from '../../wire/writer.ts';
import { SSH_MSG } from '../../wire/message-numbers.ts';
import type { ClientAttempt, ClientAuthContext, ClientAuthMethod } from './method.ts';

export interface PasswordClientOptions {
  /** Asks for a password; undefined means give up on passwords. Called once per attempt. */
  password?: (attempt: number) => Promise<string | undefined>;
  /** NumberOfPasswordPrompts (default 3). */
  passwordAttempts?: number;
}

export class PasswordClientMethod implements ClientAuthMethod {
  readonly name = 'password';
  private readonly options: PasswordClientOptions;
  private attempts = 0;

  constructor(options: PasswordClientOptions) {
    this.options = options;
  }

  async attempt(context: ClientAuthContext): Promise<ClientAttempt | undefined> {
    const ask = this.options.password;
    if (!ask || this.attempts >= (this.options.passwordAttempts ?? 3)) return undefined;
    const password = await ask(this.attempts++);
    if (password === undefined) return undefined;
    context.request('password', new Writer().boolean(false).string(password));
    const answer = await context.nextReply();
    if (answer.kind === 'other' && answer.payload[0] === SSH_MSG.USERAUTH_PASSWD_CHANGEREQ) {
      return { reply: { kind: 'failure', methods: [...context.allowed], partial: false, payload: answer.payload }, spent: true };
    }
    if (answer.kind === 'failure' && !answer.partial) context.debug('Permission denied, please try again.');
    return { reply: answer };
  }
}
