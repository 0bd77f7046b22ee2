/**
 * The far end of the `-L` case, as its own process so that it does not share an event loop with the bench:
 * listens on 127.0.0.1 (port 0), prints {"port":N} on stdout, and on each connection reads one line with a
 * byte count, sends that many zero bytes (with back-pressure) and closes. Exits when its stdin ends.
 *
 *   node bench/tunnel-target.ts
 */
import { createServer, type Socket } from 'node:net';

/** Largest count a request may ask for: bounds what one line can make this process send. */
const MAX_BYTES = 64 * 2 ** 30;
const CHUNK = Buffer.alloc(1024 * 1024);

function serve(socket: Socket): void {
  let request = '';
  socket.on('error', () => socket.destroy());
  const onData = (chunk: Buffer) => {
    request += chunk.toString('latin1');
    const newline = request.indexOf('\n');
    if (newline < 0) {
      if (request.length > 32) socket.destroy();
      return;
    }
    socket.off('data', onData);
    const count = Number(request.slice(0, newline));
    if (!Number.isSafeInteger(count) || count < 0 || count > MAX_BYTES) return void socket.destroy();
    let left = count;
    const pump = () => {
      while (left > 0) {
        const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= piece.length;
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  };
  socket.on('data', onData);
}

const server = createServer(serve);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
