// Assembles the flat WebAssembly text of src/crypto/cipher/poly1305.wat into the base64 module that
// src/crypto/cipher/poly1305-wasm-module.ts carries, so that no WebAssembly toolchain is a dependency:
//   node_modules/.bin/node scripts/assemble-wasm.ts
// (test/unit/crypto/poly1305.test.ts fails when the committed bytes and the .wat disagree.)
//
// It reads only the subset of the text format (WebAssembly Core Specification 2.0, §6) that file uses: one
// memory, mutable i32/i64 globals with constant initialisers, exported functions with params, locals and at
// most one result, and flat (unfolded) instructions, one per line, with `;;` comments. Anything else is an
// error, not a guess.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VALUE_TYPES: Record<string, number> = { i32: 0x7f, i64: 0x7e };

/** Opcodes without immediates (Core Spec §5.4). */
const PLAIN: Record<string, number> = {
  'i32.ge_u': 0x4f, 'i32.lt_u': 0x49, 'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.wrap_i64': 0xa7,
  'i64.add': 0x7c, 'i64.sub': 0x7d, 'i64.mul': 0x7e, 'i64.and': 0x83, 'i64.or': 0x84, 'i64.xor': 0x85,
  'i64.shl': 0x86, 'i64.shr_u': 0x88, 'i64.extend_i32_u': 0xad,
};
/** Memory instructions: opcode and natural alignment (log2), the default `align=`. */
const MEMORY: Record<string, [number, number]> = {
  'i32.load': [0x28, 2], 'i64.load': [0x29, 3], 'i64.load32_u': [0x35, 2],
  'i32.store': [0x36, 2], 'i64.store': [0x37, 3], 'i64.store32': [0x3e, 2],
};
const VARIABLE: Record<string, number> = { 'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22, 'global.get': 0x23, 'global.set': 0x24 };

export class AssemblyError extends Error {
  override readonly name = 'AssemblyError';
}

function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function signedLeb(value: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = Number(value & 0x7fn);
    value >>= 7n;
    const done = (value === 0n && (byte & 0x40) === 0) || (value === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vector = (items: number[][]): number[] => [...unsignedLeb(items.length), ...items.flat()];
const name = (text: string): number[] => [...unsignedLeb(Buffer.byteLength(text)), ...Buffer.from(text)];
const section = (id: number, body: number[]): number[] => [id, ...unsignedLeb(body.length), ...body];

interface Func {
  name: string;
  exportName: string | undefined;
  params: { name: string; type: number }[];
  results: number[];
  locals: { name: string; type: number }[];
  code: number[];
  labels: string[];
}

/** Parses `(global $name (mut i64) (i64.const 0))` and friends; `text` is one line without comments. */
function parseGlobal(text: string): { name: string; type: number; init: bigint } {
  const match = /^\(global \$(\w+) \(mut (i32|i64)\) \((i32|i64)\.const (-?(?:0x)?[0-9a-f]+)\)\)$/i.exec(text);
  if (!match || match[2] !== match[3]) throw new AssemblyError(`unsupported global: ${text}`);
  return { name: match[1]!, type: VALUE_TYPES[match[2]!]!, init: BigInt(match[4]!) };
}

function parseFuncHeader(text: string): Func {
  const match = /^\(func \$(\w+)((?: \((?:export "\w+"|param \$\w+ i(?:32|64)|result i(?:32|64))\))*)$/.exec(text);
  if (!match) throw new AssemblyError(`unsupported func header: ${text}`);
  const func: Func = { name: match[1]!, exportName: undefined, params: [], results: [], locals: [], code: [], labels: [] };
  for (const [, kind, rest] of match[2]!.matchAll(/\((\w+) ([^)]*)\)/g)) {
    if (kind === 'export') func.exportName = rest!.slice(1, -1);
    else if (kind === 'param') {
      const [paramName, type] = rest!.split(' ');
      func.params.push({ name: paramName!.slice(1), type: VALUE_TYPES[type!]! });
    } else func.results.push(VALUE_TYPES[rest!]!);
  }
  return func;
}

function emitInstruction(func: Func, globals: string[], line: string): void {
  const [op, ...operands] = line.split(/\s+/);
  const variableIndex = (label: string | undefined, names: string[]): number => {
    const index = label?.startsWith('$') ? names.indexOf(label.slice(1)) : -1;
    if (index < 0) throw new AssemblyError(`unknown variable ${label} in ${func.name}: ${line}`);
    return index;
  };
  if (op! in PLAIN && operands.length === 0) func.code.push(PLAIN[op!]!);
  else if (op! in VARIABLE) {
    const names = op!.startsWith('local') ? [...func.params, ...func.locals].map((v) => v.name) : globals;
    func.code.push(VARIABLE[op!]!, ...unsignedLeb(variableIndex(operands[0], names)));
  } else if (op! in MEMORY) {
    const [opcode, align] = MEMORY[op!]!;
    const offset = operands.length === 0 ? 0 : Number(/^offset=(\d+)$/.exec(operands[0]!)?.[1] ?? NaN);
    if (!Number.isInteger(offset) || operands.length > 1) throw new AssemblyError(`bad memory operands: ${line}`);
    func.code.push(opcode, ...unsignedLeb(align), ...unsignedLeb(offset));
  } else if ((op === 'i32.const' || op === 'i64.const') && operands.length === 1) {
    let value = BigInt(operands[0]!);
    if (op === 'i32.const') value = BigInt.asIntN(32, value);
    else value = BigInt.asIntN(64, value);
    func.code.push(op === 'i32.const' ? 0x41 : 0x42, ...signedLeb(value));
  } else if ((op === 'block' || op === 'loop') && operands.length === 1 && operands[0]!.startsWith('$')) {
    func.labels.push(operands[0]!.slice(1));
    func.code.push(op === 'block' ? 0x02 : 0x03, 0x40);
  } else if (op === 'end' && operands.length === 0) {
    if (func.labels.pop() === undefined) throw new AssemblyError(`unbalanced end in ${func.name}`);
    func.code.push(0x0b);
  } else if ((op === 'br' || op === 'br_if') && operands.length === 1) {
    const depth = func.labels.length - 1 - func.labels.lastIndexOf(operands[0]!.slice(1));
    if (depth >= func.labels.length) throw new AssemblyError(`unknown label in ${func.name}: ${line}`);
    func.code.push(op === 'br' ? 0x0c : 0x0d, ...unsignedLeb(depth));
  } else {
    throw new AssemblyError(`unsupported instruction in ${func.name}: ${line}`);
  }
}

/** The binary module (Core Spec §5.5) for `source`. */
export function assemble(source: string): Uint8Array {
  const lines = source
    .split('\n')
    .map((line) => line.replace(/;;.*$/, '').trim())
    .filter((line) => line !== '');
  let memory: { pages: number; exportName: string } | undefined;
  const globals: { name: string; type: number; init: bigint }[] = [];
  const funcs: Func[] = [];
  let current: Func | undefined;
  if (lines[0] !== '(module' || lines.at(-1) !== ')') throw new AssemblyError('expected (module … )');
  for (const line of lines.slice(1, -1)) {
    if (current) {
      const local = /^\(local \$(\w+) (i32|i64)\)$/.exec(line);
      if (line === ')') {
        if (current.labels.length > 0) throw new AssemblyError(`unclosed block in ${current.name}`);
        funcs.push(current);
        current = undefined;
      } else if (local) {
        if (current.code.length > 0) throw new AssemblyError(`local after code in ${current.name}`);
        current.locals.push({ name: local[1]!, type: VALUE_TYPES[local[2]!]! });
      } else {
        emitInstruction(current, globals.map((g) => g.name), line);
      }
    } else if (line.startsWith('(memory')) {
      const match = /^\(memory \(export "(\w+)"\) (\d+)\)$/.exec(line);
      if (!match || memory) throw new AssemblyError(`unsupported memory: ${line}`);
      memory = { exportName: match[1]!, pages: Number(match[2]) };
    } else if (line.startsWith('(global')) {
      globals.push(parseGlobal(line));
    } else if (line.startsWith('(func')) {
      current = parseFuncHeader(line);
    } else {
      throw new AssemblyError(`unsupported module field: ${line}`);
    }
  }
  if (current) throw new AssemblyError(`unterminated func ${current.name}`);

  const types = funcs.map((f) => [0x60, ...vector(f.params.map((p) => [p.type])), ...vector(f.results.map((r) => [r]))]);
  const exports: number[][] = [];
  if (memory) exports.push([...name(memory.exportName), 0x02, 0]);
  funcs.forEach((f, index) => {
    if (f.exportName !== undefined) exports.push([...name(f.exportName), 0x00, ...unsignedLeb(index)]);
  });
  const bodies = funcs.map((f) => {
    // Runs of locals of one type are declared together (Core Spec §5.5.13).
    const runs: number[][] = [];
    for (const local of f.locals) {
      const last = runs.at(-1);
      if (last && last[1] === local.type) last[0]!++;
      else runs.push([1, local.type]);
    }
    const body = [...vector(runs.map(([count, type]) => [...unsignedLeb(count!), type!])), ...f.code, 0x0b];
    return [...unsignedLeb(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(3, vector(funcs.map((_, index) => unsignedLeb(index)))),
    ...(memory ? section(5, vector([[0x00, ...unsignedLeb(memory.pages)]])) : []),
    ...section(6, vector(globals.map((g) => [g.type, 0x01, g.type === 0x7f ? 0x41 : 0x42, ...signedLeb(g.init), 0x0b]))),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies)),
  ];
  return Uint8Array.from(bytes);
}

/** The TypeScript module that carries `wasm` (what poly1305-wasm-module.ts holds). */
export function moduleSource(wasm: Uint8Array): string {
  const base64 = Buffer.from(wasm).toString('base64');
  const lines = base64.match(/.{1,100}/g) ?? [];
  return (
    '// Generated by scripts/assemble-wasm.ts from poly1305.wat: do not edit; edit the .wat and re-run it.\n' +
    `export const POLY1305_WASM_BASE64 =\n${lines.map((line) => `  '${line}'`).join(' +\n')};\n`
  );
}

/** The package root: above scripts/ when run from sources, above dist/scripts/ when compiled (the tests). */
function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4 && !existsSync(join(directory, 'package.json')); i++) directory = dirname(directory);
  return directory;
}

export const WAT_PATH = join(packageRoot(), 'src', 'crypto', 'cipher', 'poly1305.wat');
export const MODULE_PATH = join(packageRoot(), 'src', 'crypto', 'cipher', 'poly1305-wasm-module.ts');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(MODULE_PATH, moduleSource(assemble(readFileSync(WAT_PATH, 'utf8'))));
}
