/**
 * ssh's wording for a forwarding channel the server refused (channels.c channel_input_open_failure):
 * "channel N: open failed: administratively prohibited: open failed".
 */
import { ChannelOpenError } from '../../connection/connection.ts';

export function describeOpenFailure(error: Error): string {
  if (!(error instanceof ChannelOpenError)) return `channel open failed: ${error.message}`;
  const id = error.channelId;
  return id === undefined ? `channel: ${error.message}` : `channel ${id}: ${error.message}`;
}
