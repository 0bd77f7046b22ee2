/**
 * The agent's message handling: a sequence of (mutated) requests — add, sign, remove, lock, unlock,
 * extension — against a fresh agent, framed and streamed as a client would. Every request must get one
 * well-formed answer (a refused or malformed one is SSH_AGENT_FAILURE), and the reasons the agent logs must
 * be its own, never an engine error that slipped through its catch-all.
 */
import { duplexPair } from 'node:stream';
import { AgentLock } from '../../../src/agent/agent-lock.ts';
import { AgentServer } from '../../../src/agent/agent-server.ts';
import { AGENT_MSG, frameMessage, MessageDeframer } from '../../../src/agent/protocol.ts';
import { messageSequence } from '../mutate.ts';
import { FuzzFinding, loadCorpus, type FuzzTarget } from '../target.ts';

/** What an engine error looks like in a message: a decoder bug hiding behind a FAILURE answer. */
const ENGINE_ERROR = /Cannot read|Cannot set|is not a function|is not iterable|is not defined|Invalid array length|out of range|Maximum call stack|Invalid typed array|must be of type|\bERR_[A-Z_]+/;

const ANSWERS = new Set<number>([AGENT_MSG.FAILURE, AGENT_MSG.SUCCESS, AGENT_MSG.IDENTITIES_ANSWER, AGENT_MSG.SIGN_RESPONSE, AGENT_MSG.EXTENSION_FAILURE]);

async function runSequence(messages: Buffer[]): Promise<void> {
  const debug: string[] = [];
  const agent = new AgentServer({ debug: (line) => debug.push(line), confirm: async () => false });
  // Wrong unlock passphrases are slowed down on purpose; not what is being tested here.
  (agent as unknown as { lock: AgentLock }).lock = new AgentLock({ sleep: async () => {} });
  const [client, server] = duplexPair();
  agent.serve(server);
  const deframer = new MessageDeframer();
  const answers: Buffer[] = [];
  const sendable = messages.filter((body) => body.length > 0 && body.length <= 64 * 1024);
  const done = new Promise<void>((resolve, reject) => {
    client.on('data', (chunk: Buffer) => {
      try {
        answers.push(...deframer.push(chunk));
      } catch (error) {
        reject(error as Error);
      }
      if (answers.length >= sendable.length) resolve();
    });
    client.on('close', () => resolve());
    setTimeout(() => reject(new FuzzFinding(`agent answered ${answers.length} of ${sendable.length} requests in 5 s`)), 5000).unref();
  });
  for (const body of sendable) client.write(frameMessage(body));
  if (sendable.length === 0) {
    client.destroy();
    return;
  }
  await done;
  client.destroy();
  agent.shutdown();
  for (const answer of answers) {
    if (!ANSWERS.has(answer[0]!)) throw new FuzzFinding(`agent answered with message type ${answer[0]}`);
  }
  const leaked = debug.find((line) => ENGINE_ERROR.test(line));
  if (leaked) throw new FuzzFinding(`agent request failed with an engine error: ${leaked}`);
  if (answers.length !== sendable.length) throw new FuzzFinding(`agent answered ${answers.length} of ${sendable.length} requests`);
}

export const agentMessages: FuzzTarget<Buffer[]> = {
  name: 'agent',
  input: messageSequence(loadCorpus('agent'), 8),
  run: runSequence,
  serialize: (messages) => Buffer.concat(messages.map((body) => frameMessage(body))),
};
