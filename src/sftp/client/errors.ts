/** What the SFTP client rejects with: the stream's end, the server's protocol errors, and its status replies. */
import { SftpStatusError, type SSH_FXP, type SftpResponse } from '../protocol.ts';

/** The stream ended or failed while requests were outstanding, or before the server said VERSION. */
export class SftpConnectionError extends Error {
  override readonly name = 'SftpConnectionError';
}

/** The server broke the protocol (a reply to no request, a reply of the wrong type, a malformed packet). */
export class SftpProtocolError extends Error {
  override readonly name = 'SftpProtocolError';
}

/** A status reply: `message` is OpenSSH's text for the code, `serverMessage` what the server said ("" if nothing). */
export class SftpReplyError extends SftpStatusError {
  readonly serverMessage: string;
  constructor(code: number, serverMessage: string) {
    super(code);
    this.serverMessage = serverMessage;
  }
}

/** The server's text when it gave one, else OpenSSH's (what do_realpath prints). */
export function serverText(error: SftpStatusError): string {
  return error instanceof SftpReplyError && error.serverMessage !== '' ? error.serverMessage : error.message;
}

export function replyError(response: Extract<SftpResponse, { type: typeof SSH_FXP.STATUS }>): SftpReplyError {
  return new SftpReplyError(response.code, response.message);
}
