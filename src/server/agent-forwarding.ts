/**
 * Agent forwarding on the server (OpenSSH PROTOCOL §2.1). A session's `auth-agent-req@openssh.com` request
 * makes the server listen on a private Unix socket, `/tmp/ssh-XXXXXXXXXX/agent.<pid>` in a 0700 directory,
 * both owned by the logged-in user, and put its path in SSH_AUTH_SOCK for the programs started from then
 * on. Every connection to that socket becomes an `auth-agent@openssh.com` channel to the client, which
 * joins it to the user's own agent. As in sshd there is one socket per connection: a second request is
 * refused, and the socket and its directory are removed when the connection ends.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, rmdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Connection } from '../connection/connection.ts';
import type { HandlerContext, SessionRequestHandler } from './handlers.ts';
import { bridge } from '../connection/socket-bridge.ts';
import { agentForwardingAllowed } from './forwarding/policy.ts';
import { systemErrorText } from './forwarding/error-text.ts';
import type { Grant } from './resource-limits.ts';

export const AGENT_FORWARDING_REQUEST = 'auth-agent-req@openssh.com';
export const AGENT_CHANNEL_TYPE = 'auth-agent@openssh.com';

/** sshd's mkdtemp template, "/tmp/ssh-XXXXXXXXXX": /tmp itself, not $TMPDIR, which is the client's business. */
const SOCKET_PARENT = '/tmp';
const RANDOM_LENGTH = 10;
const NAME_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export class AgentForwardingError extends Error {
  override readonly name = 'AgentForwardingError';
}

/** A fresh private directory like mkdtemp's; mkdir's EEXIST makes a collision retry rather than reuse. */
function makePrivateDirectory(): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const name = [...randomBytes(RANDOM_LENGTH)].map((byte) => NAME_CHARACTERS[byte % NAME_CHARACTERS.length]).join('');
    const directory = join(SOCKET_PARENT, `ssh-${name}`);
    try {
      mkdirSync(directory, { mode: 0o700 });
      return directory;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new AgentForwardingError('cannot create a unique agent socket directory');
}

/** One connection's forwarded-agent socket. */
export class ForwardedAgentSocket {
  readonly directory: string;
  readonly path: string;
  private readonly server: Server;
  /** The listening socket's descriptor, out of the process's budget like forwarding's (resource-limits.ts). */
  private readonly listening: Grant;
  private closed = false;

  /** Creates the directory and socket synchronously, so SSH_AUTH_SOCK is valid before any program starts. */
  constructor(context: HandlerContext) {
    const { account, switchUser } = context.session;
    const listening = context.resources.takeSocket('agent forwarding socket');
    if (!listening) throw new AgentForwardingError('descriptor budget exhausted');
    this.listening = listening;
    try {
      this.directory = makePrivateDirectory();
    } catch (error) {
      listening.release();
      throw error;
    }
    this.path = join(this.directory, `agent.${process.pid}`);
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.onConnection(context, socket));
    this.server.on('error', (error) => context.log.error(`agent forwarding socket ${this.path}: ${systemErrorText(error)}`));
    try {
      // A Unix socket is bound inside listen() itself: the umask makes it 0600 from the start.
      const previousMask = process.umask(0o177);
      try {
        this.server.listen({ path: this.path, backlog: 128 });
      } finally {
        process.umask(previousMask);
      }
      // A failed bind is only reported by a later 'error' event; the handle tells at once.
      if (!this.server.listening) throw new AgentForwardingError(`cannot listen on ${this.path}`);
      if (switchUser) {
        chownSync(this.directory, account.uid, account.gid);
        chownSync(this.path, account.uid, account.gid);
      }
    } catch (error) {
      this.close();
      throw error;
    }
    context.connection.once('close', () => this.close());
  }

  private onConnection(context: HandlerContext, socket: Socket): void {
    socket.on('error', () => {});
    // Each program talking to the agent holds a descriptor until its socket closes; past the budget it is
    // turned away (and the refusal logged) rather than starving new logins of descriptors.
    const held = context.resources.takeSocket('forwarded agent connection');
    if (!held) {
      socket.destroy();
      return;
    }
    socket.once('close', () => held.release());
    context.connection.openChannel(AGENT_CHANNEL_TYPE).then(
      (channel) => void bridge(socket, channel),
      (error: Error) => {
        context.log.debug(`${AGENT_CHANNEL_TYPE} channel refused by the client: ${error.message}`);
        socket.destroy();
      },
    );
  }

  /** Stops listening (which removes the socket file) and removes the directory. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listening.release();
    // Closing a listening Unix socket unlinks it; the callback runs (with an error) even if it never listened.
    this.server.close(() => removeDirectory(this.directory));
  }
}

function removeDirectory(directory: string): void {
  try {
    rmdirSync(directory);
  } catch {
    // Already gone, or not empty because someone put a file there: leave it rather than delete theirs.
  }
}

const socketsByConnection = new WeakMap<Connection, ForwardedAgentSocket>();

/** The forwarded agent socket of a connection, if agent forwarding was set up on it. */
export function forwardedAgentSocket(connection: Connection): ForwardedAgentSocket | undefined {
  return socketsByConnection.get(connection);
}

/**
 * `auth-agent-req@openssh.com` on a session channel (sshd session_auth_agent_req): allowed by
 * AllowAgentForwarding, the key's options and DisableForwarding; only the first request per connection
 * sets up the socket.
 */
export const agentForwardingRequest: SessionRequestHandler = (_request, context) => {
  const { settings, restrictions } = context.session;
  if (!agentForwardingAllowed({ settings, restrictions })) {
    context.log.debug('agent forwarding disabled');
    return false;
  }
  if (socketsByConnection.has(context.connection)) return false;
  let socket: ForwardedAgentSocket;
  try {
    socket = new ForwardedAgentSocket(context);
  } catch (error) {
    context.log.error(`auth_input_request_forwarding: ${systemErrorText(error as Error)}`);
    return false;
  }
  socketsByConnection.set(context.connection, socket);
  context.sessionEnv.set('SSH_AUTH_SOCK', socket.path);
  context.log.debug(`agent forwarding socket ${socket.path}`);
  return true;
};
