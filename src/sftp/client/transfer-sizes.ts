/** How large a client's transfer requests are and how many it keeps in flight. */
import { SFTP_EXTENSION, type SftpLimits } from '../protocol.ts';

/** OpenSSH's defaults (sftp-client.c): 32 KiB per request, 64 requests in flight. */
export const DEFAULT_REQUEST_SIZE = 32768;
export const DEFAULT_MAX_REQUESTS = 64;

/** What the sizes are settled from: the server's announced extensions and its limits@openssh.com. */
interface LimitsSource {
  supports(name: string, version?: string): boolean;
  limits(): Promise<SftpLimits>;
}

/**
 * Bytes per READ and WRITE and requests in flight (sftp-client.c do_init): without -B the server's
 * limits@openssh.com choose the size (255 KiB from OpenSSH's sftp-server and ours); they only ever lower
 * -R's default.
 */
export async function transferSizes(client: LimitsSource, version: number, options: { requestSize?: number; maxRequests?: number }): Promise<{ read: number; write: number; requests: number }> {
  const sizes = { read: options.requestSize ?? DEFAULT_REQUEST_SIZE, write: options.requestSize ?? DEFAULT_REQUEST_SIZE, requests: options.maxRequests ?? DEFAULT_MAX_REQUESTS };
  if (client.supports(SFTP_EXTENSION.LIMITS, '1')) {
    const limits = await client.limits();
    const packetRoom = (limits.maxPacketLength || 256 * 1024) - 1024;
    if (options.requestSize === undefined) {
      sizes.read = Math.max(64, Math.min(limits.maxReadLength || packetRoom, packetRoom));
      sizes.write = Math.max(64, Math.min(limits.maxWriteLength || packetRoom, packetRoom));
    }
    if (options.maxRequests === undefined && limits.maxOpenHandles) sizes.requests = Math.max(1, Math.min(DEFAULT_MAX_REQUESTS, limits.maxOpenHandles));
  }
  // Version 0 servers cannot take large packets (sftp-client.c).
  if (version === 0) {
    sizes.read = Math.min(sizes.read, 20480);
    sizes.write = Math.min(sizes.write, 20480);
  }
  return sizes;
}
