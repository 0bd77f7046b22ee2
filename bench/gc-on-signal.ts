/**
 * Preloaded into the benchmarked tether server (node --expose-gc --import): SIGUSR2 runs a full garbage
 * collection, so the idle-session case reads the memory the server retains rather than garbage V8 has not
 * yet collected. Changes nothing else: V8 collects as it always does, and nothing in Tether uses SIGUSR2.
 */
const collect = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => collect?.());
