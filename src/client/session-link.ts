/**
 * One channel a held session runs on, on one connection (docs/PROTOCOL.sessions): the state the session keeps
 * per channel, and the listeners it puts on it, taken off again in one call when the channel is left.
 */
import type { ChannelRequest } from '../connection/channel.ts';
import type { SshClient } from './client.ts';
import type { Session } from './session.ts';
import type { OutputStream, StreamCounts } from './output-counter.ts';

export interface SessionLink {
  client: SshClient;
  session: Session;
  /** Data is counted only after this channel's "session@" (a reattach's redraw before it is not, §5). */
  counting: boolean;
  /** A resume channel: nothing before its "session@" belongs to the session's output. */
  resuming: boolean;
  /** Output and close listeners are on the channel (listenToLink); until then its data waits in the channel. */
  listening: boolean;
  live: boolean;
  /** The channel has closed (it is handled once the channel is live). */
  closed: boolean;
  /** Input offset up to which this channel has been given our input. */
  sent: number;
  eofSent: boolean;
  /** Bytes the server's log no longer held when this channel resumed (§4). */
  lost: StreamCounts;
  cleanup: Array<() => void>;
}

/**
 * A link for `session`, listening for the extension's channel requests at once: "session@" may follow the
 * hold's reply in the same read from the socket, so this must precede any request we send.
 */
export function openLink(
  client: SshClient,
  session: Session,
  resuming: boolean,
  onRequest: (link: SessionLink, request: ChannelRequest, reply: (ok: boolean) => void) => void,
): SessionLink {
  const link: SessionLink = {
    client, session, counting: false, resuming, listening: false, live: false, closed: false, sent: 0, eofSent: false, lost: { output: 0, error: 0 }, cleanup: [],
  };
  const listener = (request: ChannelRequest, reply: (ok: boolean) => void) => onRequest(link, request, reply);
  session.channel.on('request', listener);
  link.cleanup.push(() => session.channel.off('request', listener));
  return link;
}

/**
 * Output and close listeners. A held session attaches them when "session@" arrives (or, on a resume channel,
 * before anything is asked), so that what precedes "session@" is told apart; until then the channel keeps its
 * data, which a session the server did not hold after all hands to an ordinary reader untouched.
 */
export function listenToLink(
  link: SessionLink,
  onData: (link: SessionLink, stream: OutputStream, chunk: Buffer, borrowed: boolean) => boolean,
  onClosed: (link: SessionLink) => void,
): void {
  const channel = link.session.channel;
  link.listening = true;
  const onError = (chunk: Buffer) => onData(link, 'error', chunk, false);
  const onClose = () => onClosed(link);
  // Output is taken as it arrives (Channel.consume), possibly borrowed; false holds the channel's window.
  channel.consume({ take: (chunk, borrowed) => onData(link, 'output', chunk, borrowed) });
  channel.stderr.on('data', onError);
  channel.once('channel-closed', onClose);
  // A close that came before the listener (the session was short) is handled as if it came now.
  if (channel.fullyClosed) link.closed = true;
  link.cleanup.push(() => {
    channel.stopConsuming();
    channel.stderr.off('data', onError);
    channel.off('channel-closed', onClose);
  });
}

export function releaseLink(link: SessionLink): void {
  for (const undo of link.cleanup.splice(0)) undo();
}
