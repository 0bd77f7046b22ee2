/**
 * Terminal prompts, as OpenSSH's read_passphrase() does them: a secret is read from /dev/tty with echo
 * off; but when the caller's stdin is not a terminal (scripts, tests) the answer is read from stdin, with
 * the prompt on stderr (OpenSSH's RP_ALLOW_STDIN). Plain questions ("Overwrite (y/n)?") read stdin.
 */
import { closeSync, openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';

export interface PromptStreams {
  /** Where answers come from when it is not a terminal; default process.stdin. */
  readonly input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where prompts go when reading from `input`; default process.stderr. */
  readonly output?: NodeJS.WritableStream;
}

/** No terminal to prompt on, or the user interrupted the prompt (Ctrl-C). */
export class PromptError extends Error {
  override readonly name = 'PromptError';
}

interface LineState {
  buffer: string;
  ended: boolean;
}

/** Buffered input per stream, so that consecutive prompts on one pipe each take one line. */
const lineStates = new WeakMap<object, LineState>();

function waitForInput(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.removeListener('readable', done);
      stream.removeListener('end', done);
      stream.removeListener('close', done);
      resolve();
    };
    stream.on('readable', done);
    stream.on('end', done);
    stream.on('close', done);
  });
}

function isFinished(stream: NodeJS.ReadableStream): boolean {
  const state = stream as { readableEnded?: boolean; destroyed?: boolean };
  return state.readableEnded === true || state.destroyed === true;
}

/** Reads one line (without its line ending) from a non-terminal stream; undefined at end of input. */
export async function readLineFrom(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  let state = lineStates.get(stream);
  if (!state) {
    state = { buffer: '', ended: false };
    lineStates.set(stream, state);
  }
  for (;;) {
    const newline = state.buffer.indexOf('\n');
    if (newline >= 0) {
      const line = state.buffer.slice(0, newline).replace(/\r$/, '');
      state.buffer = state.buffer.slice(newline + 1);
      return line;
    }
    if (state.ended) {
      if (state.buffer === '') return undefined;
      const last = state.buffer;
      state.buffer = '';
      return last;
    }
    const chunk = stream.read() as Buffer | string | null;
    if (chunk !== null) {
      state.buffer += chunk.toString();
      continue;
    }
    if (isFinished(stream)) {
      state.ended = true;
      continue;
    }
    await waitForInput(stream);
    if (isFinished(stream)) state.ended = true;
  }
}

/**
 * Asks on the controlling terminal (/dev/tty), never on stdin, which may carry data: the line typed, echoed
 * or not; undefined when there is no terminal or the user pressed ^C or ^D on an empty line.
 */
export async function askTerminal(prompt: string, echo: boolean): Promise<string | undefined> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return undefined;
  }
  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  input.setRawMode(true);
  output.write(prompt);
  try {
    return await new Promise<string | undefined>((resolve) => {
      let answer = '';
      input.on('data', (data: Buffer) => {
        for (const char of data.toString('utf8')) {
          if (char === '\r' || char === '\n') return resolve(answer);
          if (char === '\u0003' || (char === '\u0004' && answer === '')) return resolve(undefined);
          if (char === '\u007f' || char === '\b') {
            if (answer.length > 0 && echo) output.write('\b \b');
            answer = [...answer].slice(0, -1).join('');
          } else if (char === '\u0015') {
            answer = '';
          } else if (char >= ' ') {
            answer += char;
            if (echo) output.write(char);
          }
        }
      });
    });
  } finally {
    input.setRawMode(false);
    output.write('\r\n');
    input.pause();
    input.destroy();
    output.destroy();
    try {
      closeSync(fd);
    } catch {
      // Already closed by the stream.
    }
  }
}

/** Reads a secret from /dev/tty with echo off. */
async function readSecretFromTerminal(prompt: string): Promise<string> {
  const answer = await askTerminal(prompt, false);
  if (answer === undefined) throw new PromptError("can't read the passphrase from /dev/tty");
  return answer;
}

/**
 * Prompts for a secret (passphrase, password). Never echoes it; resolves to '' at end of input.
 */
export async function readSecret(prompt: string, streams: PromptStreams = {}): Promise<string> {
  const input = streams.input ?? process.stdin;
  if (input.isTTY) return readSecretFromTerminal(prompt);
  (streams.output ?? process.stderr).write(prompt);
  return (await readLineFrom(input)) ?? '';
}

/** Asks a question whose answer may be echoed (a file name, "y/n"); undefined at end of input. */
export async function readLine(prompt: string, streams: PromptStreams = {}): Promise<string | undefined> {
  (streams.output ?? process.stdout).write(prompt);
  return readLineFrom(streams.input ?? process.stdin);
}
