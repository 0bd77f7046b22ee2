/**
 * The client's "keyboard-interactive" method (RFC 4256), as sshconnect2.c userauth_kbdint: one request per
 * attempt, then as many INFO_REQUEST rounds as the server sends (bounded), each answered through the prompt
 * callback; at most NumberOfPasswordPrompts failed attempts.
 */
import { Reader } from '../../wire/reader.ts';
import { Writer } from '../../wire/writer.ts';
import { DISCONNECT_REASON, SSH_MSG } from '../../wire/message-numbers.ts';
import { ProtocolError } from '../../wire/errors.ts';
import { printable } from '../../transport/version.ts';
import type { KeyboardInteractivePrompt } from '../client-auth.ts';
import type { ClientAttempt, ClientAuthContext, ClientAuthMethod } from './method.ts';

/** Bounds on what one server may make us handle (RFC 4256 leaves them to the implementation). */
const MAX_ROUNDS = 64;
const MAX_PROMPTS = 64;

export interface KeyboardInteractiveClientOptions {
  /** Answers the prompts; undefined gives up on the method. */
  keyboardInteractive?: (name: string, instruction: string, prompts: KeyboardInteractivePrompt[]) => Promise<string[] | undefined>;
  /** NumberOfPasswordPrompts (default 3). */
  passwordAttempts?: number;
}

export class KeyboardInteractiveClientMethod implements ClientAuthMethod {
  readonly name = 'keyboard-interactive';
  private readonly options: KeyboardInteractiveClientOptions;
  private failures = 0;

  constructor(options: KeyboardInteractiveClientOptions) {
    this.options = options;
  }

  async attempt(context: ClientAuthContext): Promise<ClientAttempt | undefined> {
    const answerPrompts = this.options.keyboardInteractive;
    if (!answerPrompts || this.failures >= (this.options.passwordAttempts ?? 3)) return undefined;
    // RFC 4256 §3.1: language tag and submethods, both empty.
    context.request('keyboard-interactive', new Writer().string('').string(''));
    let rounds = 0;
    let declined = false;
    for (;;) {
      const answer = await context.nextReply();
      if (answer.kind !== 'other') {
        if (answer.kind === 'failure' && !answer.partial) this.failures++;
        return { reply: answer, spent: declined };
      }
      if (answer.payload[0] !== SSH_MSG.USERAUTH_INFO_REQUEST) {
        throw new ProtocolError(`unexpected message ${answer.payload[0]} in keyboard-interactive`);
      }
      if (++rounds > MAX_ROUNDS) throw new ProtocolError('too many keyboard-interactive rounds', DISCONNECT_REASON.PROTOCOL_ERROR);
      // RFC 4256 §3.2.
      const reader = new Reader(answer.payload, 1);
      const name = printable(reader.text(1024), 1024);
      const instruction = printable(reader.text(8192), 8192);
      reader.text(256); // language tag, deprecated
      const count = reader.uint32();
      if (count > MAX_PROMPTS) throw new ProtocolError('too many keyboard-interactive prompts');
      const prompts: KeyboardInteractivePrompt[] = [];
      for (let i = 0; i < count; i++) prompts.push({ prompt: printable(reader.text(1024), 1024), echo: reader.boolean() });
      const responses = count === 0 ? [] : await answerPrompts(name, instruction, prompts);
      if (responses === undefined) {
        declined = true;
        // Answering with no responses ends this round politely; the server replies with FAILURE.
        context.send(Buffer.from(new Writer().byte(SSH_MSG.USERAUTH_INFO_RESPONSE).uint32(0).finish()));
        continue;
      }
      // RFC 4256 §3.4.
      const response = new Writer().byte(SSH_MSG.USERAUTH_INFO_RESPONSE).uint32(responses.length);
      for (const text of responses) response.string(text);
      context.send(Buffer.from(response.finish()));
    }
  }
}
