/**
 * The SFTP client library: SftpClient over any stream, opened on a session channel by openSftp(); fastGet
 * and fastPut for whole files with many requests in flight, trees each way, Node streams, and glob(3).
 */
import type { Channel } from '../../connection/channel.ts';
import { SftpClient, type SftpClientOptions } from './sftp-client.ts';

export * from './sftp-client.ts';
export { fastGet, fastPut, TransferError, TransferInterruptedError, type TransferOptions, type TransferProgress } from './transfer.ts';
export { downloadTree, uploadTree, type TreeOptions, type TreeReport } from './tree.ts';
export { createReadStream, createWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './streams.ts';
export { glob, GlobTooManyError, type GlobFilesystem, type GlobResult } from './glob.ts';

/** Something that can open a session channel: SshClient does. */
export interface SessionOpener {
  session(): Promise<{ channel: Channel; subsystem(name: string): Promise<void> }>;
}

/**
 * Starts the "sftp" subsystem on a new session channel (RFC 4254 §6.5) and speaks SFTP over it. The
 * subsystem ends with client.end(); the SSH connection stays up.
 */
export async function openSftp(connection: SessionOpener, options: SftpClientOptions & { subsystem?: string } = {}): Promise<SftpClient> {
  const session = await connection.session();
  await session.subsystem(options.subsystem ?? 'sftp');
  return SftpClient.open(session.channel, options);
}
