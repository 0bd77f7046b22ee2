/** Every fuzz target, in the order the runners take them. */
import type { FuzzTarget } from '../target.ts';
import { agentMessages } from './agent.ts';
import { BINARY_TARGETS } from './binary.ts';
import { SERVER_TARGETS } from './server.ts';
import { SFTP_TARGETS } from './sftp.ts';
import { TEXT_TARGETS } from './text.ts';

export const TARGETS = [...BINARY_TARGETS, ...TEXT_TARGETS, agentMessages, ...SERVER_TARGETS, ...SFTP_TARGETS] as unknown as readonly FuzzTarget<never>[];

/** Targets that run a whole conversation per input: far fewer inputs per second than the decoders. */
export const SLOW_TARGETS: ReadonlySet<string> = new Set([...SERVER_TARGETS.map((target) => target.name), 'sftp-server']);
