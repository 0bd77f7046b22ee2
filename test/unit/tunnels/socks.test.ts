/** SOCKS4, SOCKS4a and SOCKS5 request parsing (RFC 1928) and the wire payloads of forwarding (RFC 4254 §7). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { negotiateSocks, parseSocks4Request, parseSocks5Greeting, parseSocks5Request, SocksError, Socks5Refusal } from '../../../src/client/socks.ts';
import { decodeAllocatedPort, decodeForwardedTcpip, encodeDirectTcpip, encodeTcpipForward } from '../../../src/connection/forwarding-messages.ts';
import { bindAddresses } from '../../../src/client/forwarding/listener.ts';
import { remoteBindAddress } from '../../../src/client/forwarding/remote.ts';
import { Reader } from '../../../src/wire/reader.ts';
import { Writer } from '../../../src/wire/writer.ts';

test('SOCKS4 CONNECT to an IPv4 address, byte by byte', () => {
  const request = Buffer.from([4, 1, 0x1f, 0x90, 10, 0, 0, 7, ...Buffer.from('me'), 0, 0xaa]);
  for (let length = 0; length < 11; length++) assert.equal(parseSocks4Request(request.subarray(0, length)), 'incomplete');
  assert.deepEqual(parseSocks4Request(request), { value: { version: 4, host: '10.0.0.7', port: 8080 }, consumed: 11 });
});

test('SOCKS4a carries a host name after the user id', () => {
  const request = Buffer.from([4, 1, 0, 80, 0, 0, 0, 9, 0, ...Buffer.from('example.org'), 0]);
  assert.deepEqual(parseSocks4Request(request), { value: { version: 4, host: 'example.org', port: 80 }, consumed: request.length });
  assert.throws(() => parseSocks4Request(Buffer.from([4, 2, 0, 80, 1, 2, 3, 4, 0])), SocksError, 'BIND is refused');
  assert.throws(() => parseSocks4Request(Buffer.concat([Buffer.from([4, 1, 0, 80, 1, 2, 3, 4]), Buffer.alloc(300, 0x41)])), SocksError);
});

test('SOCKS5 greeting and CONNECT with IPv4, a domain name and IPv6', () => {
  assert.deepEqual(parseSocks5Greeting(Buffer.from([5, 2, 0, 2])), { value: { methods: [0, 2] }, consumed: 4 });
  assert.equal(parseSocks5Greeting(Buffer.from([5, 2, 0])), 'incomplete');
  assert.deepEqual(parseSocks5Request(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 22])), { value: { version: 5, host: '127.0.0.1', port: 22 }, consumed: 10 });
  const name = Buffer.from([5, 1, 0, 3, 9, ...Buffer.from('localhost'), 1, 0]);
  assert.deepEqual(parseSocks5Request(name), { value: { version: 5, host: 'localhost', port: 256 }, consumed: name.length });
  assert.equal(parseSocks5Request(name.subarray(0, name.length - 1)), 'incomplete');
  const v6 = Buffer.from([5, 1, 0, 4, ...Buffer.alloc(15), 1, 0, 80]);
  assert.deepEqual(parseSocks5Request(v6), { value: { version: 5, host: '::1', port: 80 }, consumed: 22 });
  assert.throws(() => parseSocks5Request(Buffer.from([5, 2, 0, 1, 1, 2, 3, 4, 0, 80])), (e: Error) => e instanceof Socks5Refusal && e.reply === 7);
  assert.throws(() => parseSocks5Request(Buffer.from([5, 1, 0, 9, 1])), (e: Error) => e instanceof Socks5Refusal && e.reply === 8);
});

test('negotiateSocks answers the greeting and gives back bytes sent after the request', async () => {
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer((socket) => {
      server.close();
      resolve(socket);
    }).listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      const client = connect(address.port, '127.0.0.1', () => {
        client.write(Buffer.from([5, 1, 0]));
        client.once('data', (reply) => {
          assert.deepEqual([...reply], [5, 0]);
          client.write(Buffer.concat([Buffer.from([5, 1, 0, 3, 4, ...Buffer.from('host'), 0, 7]), Buffer.from('early data')]));
          client.once('data', (second) => {
            assert.deepEqual([...second.subarray(0, 2)], [5, 0]);
            client.destroy();
          });
        });
      });
    });
  });
  const socket = await accepted;
  const negotiated = await negotiateSocks(socket);
  assert.deepEqual(negotiated.request, { version: 5, host: 'host', port: 7 });
  const early = await new Promise<Buffer>((resolve) => socket.once('data', resolve).resume());
  assert.equal(early.toString(), 'early data');
  negotiated.reply(0);
});

test('forwarding payloads follow RFC 4254 §7.1 and §7.2', () => {
  const direct = new Reader(encodeDirectTcpip('db.internal', 5432, { address: '10.1.2.3', port: 50000 }));
  assert.deepEqual([direct.text(), direct.uint32(), direct.text(), direct.uint32()], ['db.internal', 5432, '10.1.2.3', 50000]);
  const forward = new Reader(encodeTcpipForward('localhost', 0));
  assert.deepEqual([forward.text(), forward.uint32()], ['localhost', 0]);
  assert.equal(decodeAllocatedPort(new Writer().uint32(40123).finish()), 40123);
  assert.equal(decodeAllocatedPort(Buffer.alloc(0)), undefined);
  const incoming = new Writer().string('127.0.0.1').uint32(8080).string('192.0.2.1').uint32(1234).finish();
  assert.deepEqual(decodeForwardedTcpip(incoming), { connectedAddress: '127.0.0.1', connectedPort: 8080, originator: { address: '192.0.2.1', port: 1234 } });
});

test('bind addresses follow ssh: loopback by default, every interface only with GatewayPorts or *', () => {
  assert.deepEqual(bindAddresses({}), { required: '127.0.0.1', optional: ['::1'] });
  assert.deepEqual(bindAddresses({ gatewayPorts: true }), { required: '0.0.0.0', optional: ['::'] });
  assert.deepEqual(bindAddresses({ bindAddress: '*' }), { required: '0.0.0.0', optional: ['::'] });
  assert.deepEqual(bindAddresses({ bindAddress: 'localhost', gatewayPorts: true }), { required: '127.0.0.1', optional: ['::1'] });
  assert.deepEqual(bindAddresses({ bindAddress: '192.0.2.5' }), { required: '192.0.2.5', optional: [] });
  assert.equal(remoteBindAddress(undefined), 'localhost');
  assert.equal(remoteBindAddress('*'), '');
  assert.equal(remoteBindAddress('0.0.0.0'), '0.0.0.0');
});
