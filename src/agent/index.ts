/**
 * The ssh-agent protocol (draft-miller-ssh-agent): an in-memory agent that serves any Duplex stream, a
 * client for any Duplex stream, the private Unix socket of `tether agent`, and the client-side key source.
 *
 * Agent forwarding plugs into the same two classes. On the server side of an SSH connection, a forwarded
 * agent is a channel of type "auth-agent@openssh.com" opened *by the server* after the client's
 * "auth-agent-req@openssh.com" session request: the server listens on a private socket for the session and
 * pipes each accepted connection into a new such channel. On the client side, each incoming
 * auth-agent@openssh.com channel is piped to a fresh connection to the local agent
 * (`connectAgent(SSH_AUTH_SOCK)` socket ⇄ channel), or served in process with `agentServer.serve(channel)`.
 * Either way the bytes on the channel are exactly the agent protocol; nothing here depends on the transport.
 */
export { AgentServer, type AgentServerOptions } from './agent-server.ts';
export {
  AgentClient,
  AgentConnectError,
  AgentConnectionClosedError,
  AgentRequestError,
  connectAgent,
  type AddOptions,
  type AgentIdentity,
} from './agent-client.ts';
export { listenAgentSocket, makePrivateSocketPath, removeSocketFiles, type AgentListener } from './agent-socket.ts';
export {
  addKeyToAgent,
  agentAuthKeys,
  agentSocketPath,
  forwardAgentSocketPath,
  heldKeys,
  loadAgentKeys,
  selectAuthKeys,
  type AddKeyToAgentOptions,
  type AddKeysToAgentMode,
  type AgentAuthKey,
  type AgentKeys,
  type HeldKeys,
  type SelectAuthKeysOptions,
} from './agent-keys.ts';
export { askpassConfirm, type ConfirmFunction } from './confirm.ts';
export { AGENT_MSG, SIGN_FLAG, CONSTRAIN, MAX_AGENT_MESSAGE, AgentFramingError, flagsForAlgorithm, rsaAlgorithmForFlags } from './protocol.ts';
