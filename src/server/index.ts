/** Public API of the server layer: the listener, its options, and the pieces embedding applications use. */
export { Server, createServer, type ServerOptions, type ServerReload, type BoundAddress } from './server.ts';
export { ServerConnection, streamEndpoints, type ServerRuntime, type ConnectionPhase } from './server-connection.ts';
export { createLogger, silentLogger, LogFileError, type ServerLogger, type LoggerOptions, type LogDestination } from './logger.ts';
export { loadHostKeys, generateHostKeyFile, hostKeyTypeFromName, HostKeyError, type HostKeyFile } from './host-keys.ts';
export { loadGroupChooser, moduliGroupChooser, parseModuli, type ModuliEntry, type DhGroup } from './moduli.ts';
export { serverAlgorithms, AlgorithmConfigError } from './algorithms.ts';
export {
  defaultHandlers,
  type ServerHandlers,
  type ChannelOpenHandler,
  type GlobalRequestHandler,
  type SessionRequestHandler,
  type HandlerContext,
} from './handlers.ts';
export { forwardingChannelHandlers, forwardingGlobalRequestHandlers } from './forwarding/index.ts';
export { agentForwardingRequest, AGENT_FORWARDING_REQUEST } from './agent-forwarding.ts';
export { defaultConfigText, HOST_KEY_FILES, type DefaultConfigOptions } from './default-config.ts';
export { lookupAccount, currentAccount, runningAsRoot, type UserAccount } from './accounts.ts';
export type { SessionProcess, SessionProgram, ProcessExit, TerminalRequest, RunAs } from '../sessions/session-process.ts';
export { startPtyProcess } from '../sessions/pty-process.ts';
export { startPipeProcess } from '../sessions/pipe-process.ts';
export { installLastResortGuard, runAsConnection, currentConnection, type ContainedConnection } from './containment.ts';
export { ServerResources, readDescriptorLimit } from './resource-limits.ts';
export { DEFAULT_SYSTEM_PATHS, systemPathsFromEnvironment, type SystemPaths } from './system-paths.ts';
