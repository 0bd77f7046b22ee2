/**
 * Tether as a library: the client (connect, sessions, forwarding), sessions that survive their connection
 * (openPersistentSession, docs/PROTOCOL.sessions), and the server. Every call returns a promise; failures are
 * the typed errors exported here.
 */
export {
  connect, SshClient, ConnectError, ResolveError, ServerTimeoutError, type ConnectOptions,
} from './client/client.ts';
export { Session, RequestRefusedError, type PtyOptions } from './client/session.ts';
export { openPersistentSession, holdSession } from './client/open-persistent-session.ts';
export {
  PersistentSession, HoldRefusedError, SessionDetachedError, SessionResumeError,
  type OpenPersistentSessionOptions, type PersistentSessionOptions, type PersistentSessionEvents, type HoldOptions,
  type ReconnectPolicy,
} from './client/persistent-session.ts';
export { AuthenticationError, type AuthKey, type ClientAuthOptions, type ResumeAuth } from './auth/client-auth.ts';
export { HostKeyVerificationError } from './client/host-key-policy.ts';
export type { Channel, ExitStatus } from './connection/channel.ts';
export {
  openSftp, SftpClient, SftpStatusError, SftpReplyError, SftpConnectionError, SftpProtocolError, fastGet, fastPut, downloadTree, uploadTree,
  createReadStream, createWriteStream, TransferError, TransferInterruptedError, SSH_FX, SSH_FXF,
  type SftpAttributes, type SftpNameEntry, type SftpClientOptions, type TransferOptions, type TransferProgress,
} from './sftp/client/index.ts';
export * as server from './server/index.ts';
