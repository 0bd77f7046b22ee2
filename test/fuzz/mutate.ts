/**
 * Input generators for the fuzz targets: seeds from the corpus mutated the way coverage-guided fuzzers do
 * (bit flips, byte and uint32 stomps with boundary values — 2^32-1 in a length field must not allocate
 * 4 GiB —, insertions, deletions, duplications, truncation, splices of two seeds, dictionary tokens), plus
 * plain random bytes. Every mutation is data fast-check can shrink, so a failure reduces to a small case.
 */
import fc from 'fast-check';

/** Values that break length and count fields: zero, one, sign bits, all ones, just past small limits. */
const INTERESTING_32 = [0, 1, 2, 4, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xffff, 0x10000, 0x40001, 0x1000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x3d];

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'uint32'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'token'; at: number; token: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number; to: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; other: number; from: number };

function mutationArbitrary(): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('byte' as const), at, value: fc.oneof(fc.constantFrom(...INTERESTING_8), fc.integer({ min: 0, max: 255 })) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('uint32' as const), at, value: fc.oneof(fc.constantFrom(...INTERESTING_32), fc.nat()) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('token' as const), at, token: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at, length: fc.integer({ min: 1, max: 64 }), to: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('splice' as const), at, other: fc.nat(), from: fc.nat() }) },
  );
}

function applyMutation(input: Buffer, mutation: Mutation, seeds: readonly Buffer[], tokens: readonly Buffer[]): Buffer {
  const length = input.length;
  const pos = (n: number, extra = 0) => (length + extra === 0 ? 0 : n % (length + extra));
  switch (mutation.kind) {
    case 'flip': {
      if (length === 0) return input;
      const out = Buffer.from(input);
      out[pos(mutation.at)]! ^= 1 << mutation.bit;
      return out;
    }
    case 'byte': {
      if (length === 0) return Buffer.from([mutation.value]);
      const out = Buffer.from(input);
      out[pos(mutation.at)] = mutation.value;
      return out;
    }
    case 'uint32': {
      if (length < 4) return input;
      const out = Buffer.from(input);
      out.writeUInt32BE(mutation.value >>> 0, mutation.at % (length - 3));
      return out;
    }
    case 'insert': {
      const at = pos(mutation.at, 1);
      return Buffer.concat([input.subarray(0, at), mutation.bytes, input.subarray(at)]);
    }
    case 'token': {
      if (tokens.length === 0) return input;
      const at = pos(mutation.at, 1);
      return Buffer.concat([input.subarray(0, at), tokens[mutation.token % tokens.length]!, input.subarray(at)]);
    }
    case 'delete': {
      const at = pos(mutation.at);
      return Buffer.concat([input.subarray(0, at), input.subarray(at + mutation.length)]);
    }
    case 'duplicate': {
      const at = pos(mutation.at);
      const piece = input.subarray(at, at + mutation.length);
      const to = pos(mutation.to, 1);
      return Buffer.concat([input.subarray(0, to), piece, input.subarray(to)]);
    }
    case 'truncate':
      return input.subarray(0, pos(mutation.at, 1));
    case 'splice': {
      if (seeds.length === 0) return input;
      const other = seeds[mutation.other % seeds.length]!;
      const from = other.length === 0 ? 0 : mutation.from % other.length;
      return Buffer.concat([input.subarray(0, pos(mutation.at, 1)), other.subarray(from)]);
    }
  }
}

/** Tokens for text formats: the seeds' words and separators, plus characters parsers treat specially. */
export function textTokens(seeds: readonly Buffer[]): Buffer[] {
  const words = new Set<string>(['*', '!', '?', '[', ']', ']:', ':', '%', '%%', '%h', '${', '}', '"', "'", '\\', '\n', '\r\n', '\t', ' ', '=', ',', '#', '|1|', '@revoked ', '@cert-authority ', '\0', '\xff', 'é']);
  for (const seed of seeds) {
    for (const word of seed.toString('latin1').split(/[\s,="]+/)) if (word.length > 0 && word.length <= 40) words.add(word);
  }
  return [...words].slice(0, 2000).map((word) => Buffer.from(word, 'latin1'));
}

/** A mutated seed (one to eight mutations) most of the time, an unmutated seed or random bytes otherwise. */
export function mutatedInput(seeds: readonly Buffer[], options: { tokens?: readonly Buffer[]; maxRandom?: number } = {}): fc.Arbitrary<Buffer> {
  const tokens = options.tokens ?? [];
  const fromSeed = seeds.length === 0
    ? fc.uint8Array({ maxLength: options.maxRandom ?? 512 }).map((bytes) => Buffer.from(bytes))
    : fc.record({ seed: fc.nat(), mutations: fc.array(mutationArbitrary(), { minLength: 1, maxLength: 8 }) }).map(({ seed, mutations }) =>
      mutations.reduce((input, mutation) => applyMutation(input, mutation, seeds, tokens), seeds[seed % seeds.length]!),
    );
  return fc.oneof(
    { weight: 12, arbitrary: fromSeed },
    { weight: 1, arbitrary: seeds.length > 0 ? fc.constantFrom(...seeds) : fromSeed },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: options.maxRandom ?? 512 }).map((bytes) => Buffer.from(bytes)) },
  );
}

/** A sequence of messages, each a mutated (or intact) seed message. */
export function messageSequence(seeds: readonly Buffer[], maxLength: number): fc.Arbitrary<Buffer[]> {
  return fc.array(mutatedInput(seeds, { maxRandom: 64 }), { minLength: 1, maxLength });
}
