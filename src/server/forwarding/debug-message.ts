/**
 * SSH_MSG_DEBUG (RFC 4253 §11.3) with always_display false: sshd explains refused forwards this way
 * ("Server has disabled port forwarding."), and `ssh -v` shows the text as "debug1: Remote: …".
 */
import { SSH_MSG } from '../../wire/message-numbers.ts';
import { Writer } from '../../wire/writer.ts';
import type { Connection } from '../../connection/connection.ts';

export function sendDebugMessage(connection: Connection, message: string): void {
  if (connection.transport.isClosed) return;
  connection.transport.send(new Writer(32 + message.length).byte(SSH_MSG.DEBUG).boolean(false).string(message).string('').finish());
}
