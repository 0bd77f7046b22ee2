/** The session holder (docs/PROTOCOL.sessions §1): the server's client of it, and the holder process itself. */
export { holderFor, HolderUnavailableError, type HolderAddress } from './holder-client.ts';
export { HolderDirectoryError, ensureUserDirectory, holderSocketPath } from './holder-directory.ts';
export { HolderProtocolError } from './holder-protocol.ts';
export { Holder, MAX_SESSIONS, type HolderOptions } from './holder-main.ts';
export type { RemoteAttachment } from './remote-attachment.ts';
export type {
  AttachHeldSession,
  AttachmentEnd,
  CreateHeldSession,
  HeldAttachment,
  HeldSessionSummary,
  OutputGap,
  SessionHolder,
} from '../holder-api.ts';
