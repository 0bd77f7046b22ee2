/**
 * The Poly1305 one-time authenticator (RFC 8439 §2.5), needed by chacha20-poly1305@openssh.com because
 * node:crypto before Node 26 exposes ChaCha20 but no raw Poly1305 (its chacha20-poly1305 AEAD pads and
 * appends lengths, which OpenSSH's construction does not), and Node 26's crypto.createMac('poly1305') is a
 * stream object costing several microseconds to set up per packet.
 *
 * The arithmetic runs in WebAssembly (poly1305.wat: five 26-bit limbs with i64 products), about four times
 * the speed of the float64 TypeScript it replaced. The module is compiled once, synchronously, at import;
 * its memory holds the key and a 64 KiB window that messages are copied through. Calls never interleave
 * (JavaScript runs them to completion), so one instance serves every connection.
 */
import { POLY1305_WASM_BASE64 } from './poly1305-wasm-module.ts';

interface Poly1305Exports {
  memory: { buffer: ArrayBuffer };
  init(): void;
  blocks(pointer: number, length: number, hibit: number): void;
  finish(): void;
}

/** Memory layout shared with poly1305.wat. */
const KEY_AT = 0;
const TAG_AT = 32;
const TAIL_AT = 48;
const WINDOW_AT = 64;
const WINDOW_LENGTH = 65536;

/** The part of the WebAssembly JS API used here (the ES2023 lib, without DOM, declares none of it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
const wasm = new Instance(new Module(Buffer.from(POLY1305_WASM_BASE64, 'base64'))).exports as Poly1305Exports;
// The memory never grows, so this view stays valid.
const memory = new Uint8Array(wasm.memory.buffer);

/** Computes the 16-byte tag of `message` under the 32-byte one-time `key` (r || s) and returns it. */
export function poly1305(key: Uint8Array, message: Uint8Array): Buffer {
  const tag = Buffer.allocUnsafe(16);
  poly1305Into(key, message, tag, 0);
  return tag;
}

/** Like `poly1305` but writes the tag into `out` at `offset`, so a sealer can place it without a copy. */
export function poly1305Into(key: Uint8Array, message: Uint8Array, out: Uint8Array, offset: number): void {
  start(key);
  absorb(message);
  finish(out, offset);
}

/**
 * The tag of `first || second` without joining them: chacha20-poly1305@openssh.com authenticates the
 * encrypted length and the encrypted body, which the sealer holds as separate buffers.
 */
export function poly1305PairInto(key: Uint8Array, first: Uint8Array, second: Uint8Array, out: Uint8Array, offset: number): void {
  start(key);
  absorb(first);
  absorb(second);
  finish(out, offset);
}

/** Message bytes copied into the window and not yet processed. */
let pending = 0;

function start(key: Uint8Array): void {
  if (key.length !== 32) throw new RangeError('Poly1305 key must be 32 bytes');
  memory.set(key, KEY_AT);
  wasm.init();
  pending = 0;
}

/** Copies `part` through the window, processing each full window as whole blocks. */
function absorb(part: Uint8Array): void {
  for (let at = 0; at < part.length; ) {
    const count = Math.min(WINDOW_LENGTH - pending, part.length - at);
    memory.set(count === part.length ? part : part.subarray(at, at + count), WINDOW_AT + pending);
    pending += count;
    at += count;
    if (pending === WINDOW_LENGTH) {
      wasm.blocks(WINDOW_AT, WINDOW_LENGTH, 1);
      pending = 0;
    }
  }
}

function finish(out: Uint8Array, offset: number): void {
  const whole = pending - (pending % 16);
  if (whole > 0) wasm.blocks(WINDOW_AT, whole, 1);
  const rest = pending - whole;
  if (rest > 0) {
    // Final partial block: the 0x01 byte follows the message bytes, zeros fill the rest (RFC 8439 §2.5.1).
    memory.fill(0, TAIL_AT, TAIL_AT + 16);
    memory.copyWithin(TAIL_AT, WINDOW_AT + whole, WINDOW_AT + pending);
    memory[TAIL_AT + rest] = 1;
    wasm.blocks(TAIL_AT, 16, 0);
  }
  wasm.finish();
  out.set(memory.subarray(TAG_AT, TAG_AT + 16), offset);
  // The one-time key is not left behind in the shared memory.
  memory.fill(0, KEY_AT, KEY_AT + 32);
  pending = 0;
}
