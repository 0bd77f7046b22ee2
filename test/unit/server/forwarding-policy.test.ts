/**
 * The forwarding rules on their own: AllowTcpForwarding / AllowStreamLocalForwarding directions,
 * DisableForwarding, the key's no-port-forwarding and no-agent-forwarding, PermitOpen / permitopen=,
 * PermitListen / permitlisten=, privileged ports, GatewayPorts bind addresses; plus the ordering of global
 * request replies, the user-permission checks for Unix sockets and the payload decoders.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writer } from '../../../src/wire/writer.ts';
import { Reader } from '../../../src/wire/reader.ts';
import {
  agentForwardingAllowed,
  bindTarget,
  listenPermitted,
  listenPortPermitted,
  openPermitted,
  parsePermission,
  STREAMLOCAL_PORT,
  streamLocalForwardingAllowed,
  tcpForwardingAllowed,
  type ForwardingRules,
} from '../../../src/server/forwarding/policy.ts';
import { checkMayConnect, checkMayCreate, UserAccessError } from '../../../src/server/forwarding/user-access.ts';
import {
  decodeDirectStreamlocal,
  decodeDirectTcpip,
  decodeTcpipForward,
  encodeAllocatedPort,
  encodeForwardedStreamlocal,
  encodeForwardedTcpip,
} from '../../../src/connection/forwarding-messages.ts';
import { systemErrorText } from '../../../src/server/forwarding/error-text.ts';

function rules(settings: Partial<ForwardingRules['settings']> = {}, restrictions: Partial<ForwardingRules['restrictions']> = {}): ForwardingRules {
  return {
    settings: {
      allowTcpForwarding: 'yes',
      allowStreamLocalForwarding: 'yes',
      allowAgentForwarding: true,
      disableForwarding: false,
      permitOpen: [],
      permitListen: [],
      gatewayPorts: 'no',
      ...settings,
    },
    restrictions: { permitPortForwarding: true, permitAgentForwarding: true, permitOpen: [], permitListen: [], ...restrictions },
  };
}

describe('which forwarding is allowed', () => {
  it('AllowTcpForwarding directions: yes both, local only direct-tcpip, remote only tcpip-forward, no neither', () => {
    const table = { yes: [true, true], local: [true, false], remote: [false, true], no: [false, false] } as const;
    for (const [policy, [local, remote]] of Object.entries(table)) {
      const r = rules({ allowTcpForwarding: policy as 'yes' });
      assert.equal(tcpForwardingAllowed(r, 'local'), local, `${policy} local`);
      assert.equal(tcpForwardingAllowed(r, 'remote'), remote, `${policy} remote`);
    }
    assert.equal(streamLocalForwardingAllowed(rules({ allowStreamLocalForwarding: 'local' }), 'remote'), false);
    assert.equal(streamLocalForwardingAllowed(rules({ allowStreamLocalForwarding: 'local' }), 'local'), true);
  });

  it('DisableForwarding and no-port-forwarding override AllowTcpForwarding yes', () => {
    assert.equal(tcpForwardingAllowed(rules({ disableForwarding: true }), 'local'), false);
    assert.equal(streamLocalForwardingAllowed(rules({ disableForwarding: true }), 'remote'), false);
    assert.equal(tcpForwardingAllowed(rules({}, { permitPortForwarding: false }), 'remote'), false);
    assert.equal(streamLocalForwardingAllowed(rules({}, { permitPortForwarding: false }), 'local'), false);
  });

  it('agent forwarding needs AllowAgentForwarding, the key option and no DisableForwarding', () => {
    assert.equal(agentForwardingAllowed(rules()), true);
    assert.equal(agentForwardingAllowed(rules({ allowAgentForwarding: false })), false);
    assert.equal(agentForwardingAllowed(rules({}, { permitAgentForwarding: false })), false);
    assert.equal(agentForwardingAllowed(rules({ disableForwarding: true })), false);
  });
});

describe('PermitOpen and permitopen=', () => {
  it('parses host:port, [v6]:port and * ports', () => {
    assert.deepEqual(parsePermission('db.internal:5432'), { host: 'db.internal', port: 5432 });
    assert.deepEqual(parsePermission('[::1]:22'), { host: '::1', port: 22 });
    assert.deepEqual(parsePermission('*:*'), { host: '*', port: null });
    assert.equal(parsePermission('no-port'), undefined);
  });

  it('empty and any allow all, none allows nothing', () => {
    assert.equal(openPermitted(rules(), 'anything', 1), true);
    assert.equal(openPermitted(rules({ permitOpen: ['any'] }), 'anything', 1), true);
    assert.equal(openPermitted(rules({ permitOpen: ['none'] }), '127.0.0.1', 80), false);
  });

  it('hosts compare exactly (only a whole * is a wildcard), ports exactly or *', () => {
    const r = rules({ permitOpen: ['web:80', '*:5900', 'db:*'] });
    assert.equal(openPermitted(r, 'web', 80), true);
    assert.equal(openPermitted(r, 'web', 81), false);
    assert.equal(openPermitted(r, 'WEB', 80), false);
    assert.equal(openPermitted(r, 'anyhost', 5900), true);
    assert.equal(openPermitted(r, 'db', 1234), true);
    assert.equal(openPermitted(rules({ permitOpen: ['*.example.com:22'] }), 'a.example.com', 22), false);
  });

  it('the key list and the server list must both allow the target', () => {
    const r = rules({ permitOpen: ['a:1', 'b:2'] }, { permitOpen: ['b:2', 'c:3'] });
    assert.equal(openPermitted(r, 'a', 1), false);
    assert.equal(openPermitted(r, 'b', 2), true);
    assert.equal(openPermitted(r, 'c', 3), false);
  });

  it('a socket path passes only entries with a * port', () => {
    assert.equal(openPermitted(rules(), '/run/x.sock', STREAMLOCAL_PORT), true);
    assert.equal(openPermitted(rules({ permitOpen: ['/run/x.sock:1'] }), '/run/x.sock', STREAMLOCAL_PORT), false);
    assert.equal(openPermitted(rules({ permitOpen: ['*:*'] }), '/run/x.sock', STREAMLOCAL_PORT), true);
  });
});

describe('PermitListen and permitlisten=', () => {
  it('listen hosts are case-insensitive patterns; bare key ports mean any host', () => {
    const r = rules({ permitListen: ['localhost:8080', '*:9000', '127.0.0.?:*'] });
    assert.equal(listenPermitted(r, 'localhost', 8080), true);
    assert.equal(listenPermitted(r, 'LOCALHOST', 8080), true);
    assert.equal(listenPermitted(r, '', 8080), false);
    assert.equal(listenPermitted(r, '', 9000), true);
    assert.equal(listenPermitted(r, '127.0.0.5', 1), true);
    assert.equal(listenPermitted(rules({}, { permitListen: ['7000'] }), 'anything', 7000), true);
    assert.equal(listenPermitted(rules({}, { permitListen: ['7000'] }), 'anything', 7001), false);
    assert.equal(listenPermitted(rules({ permitListen: ['none'] }), 'localhost', 7000), false);
  });

  it('ports below 1024 only for root; 0 always asks for a free port', () => {
    assert.equal(listenPortPermitted(1023, 1000), false);
    assert.equal(listenPortPermitted(1023, 0), true);
    assert.equal(listenPortPermitted(1024, 1000), true);
    assert.equal(listenPortPermitted(0, 1000), true);
  });
});

describe('GatewayPorts bind addresses', () => {
  it('no: loopback whatever is asked, except an explicit 127.0.0.1 or ::1', () => {
    for (const asked of ['', '*', '0.0.0.0', 'localhost', '192.0.2.1']) assert.deepEqual(bindTarget('no', asked), { kind: 'loopback' }, asked);
    assert.deepEqual(bindTarget('no', '::1'), { kind: 'address', address: '::1' });
  });

  it('yes: every address, saying when a specific request was overridden', () => {
    assert.deepEqual(bindTarget('yes', ''), { kind: 'wildcard' });
    assert.deepEqual(bindTarget('yes', 'localhost'), { kind: 'wildcard', overridden: 'localhost' });
  });

  it('clientspecified: as asked, with "" and * all addresses and localhost every loopback address', () => {
    assert.deepEqual(bindTarget('clientspecified', '*'), { kind: 'wildcard' });
    assert.deepEqual(bindTarget('clientspecified', 'localhost'), { kind: 'loopback' });
    assert.deepEqual(bindTarget('clientspecified', '0.0.0.0'), { kind: 'address', address: '0.0.0.0' });
    assert.deepEqual(bindTarget('clientspecified', '127.0.0.2'), { kind: 'address', address: '127.0.0.2' });
  });
});

describe('Unix-socket access checked as the user', () => {
  const nobody = { uid: 65534, gid: 65534, gids: [65534] };

  it('connect needs search on the directories and write on the socket', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-access-'));
    try {
      const socket = join(dir, 'service.sock');
      writeFileSync(socket, '');
      chmodSync(dir, 0o700);
      assert.throws(() => checkMayConnect(socket, nobody), UserAccessError);
      chmodSync(dir, 0o755);
      chmodSync(socket, 0o644);
      assert.throws(() => checkMayConnect(socket, nobody), /Permission denied/);
      chmodSync(socket, 0o666);
      checkMayConnect(socket, nobody);
      checkMayConnect(join(dir, 'missing.sock'), nobody); // left to connect() to report ENOENT
      chmodSync(socket, 0o600);
      checkMayConnect(socket, { uid: 0, gid: 0, gids: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('create needs write on the directory; a sticky directory protects other users\' sockets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-access-'));
    try {
      chmodSync(dir, 0o755);
      const shared = join(dir, 'shared');
      mkdirSync(shared);
      chmodSync(shared, 0o755);
      assert.throws(() => checkMayCreate(join(shared, 'new.sock'), nobody, false), UserAccessError);
      chmodSync(shared, 0o1777);
      checkMayCreate(join(shared, 'new.sock'), nobody, false);
      const theirs = join(shared, 'theirs.sock');
      writeFileSync(theirs, '');
      assert.throws(() => checkMayCreate(theirs, nobody, true), UserAccessError);
      chownSync(theirs, nobody.uid, nobody.gid);
      checkMayCreate(theirs, nobody, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('forwarding payloads', () => {
  it('decodes direct-tcpip, direct-streamlocal and tcpip-forward', () => {
    const direct = new Writer().string('db.internal').uint32(5432).string('10.0.0.5').uint32(40000).finish();
    assert.deepEqual(decodeDirectTcpip(direct), { host: 'db.internal', port: 5432, originator: { address: '10.0.0.5', port: 40000 } });
    assert.deepEqual(decodeDirectStreamlocal(new Writer().string('/run/x.sock').string('').uint32(0).finish()), { path: '/run/x.sock' });
    assert.deepEqual(decodeTcpipForward(new Writer().string('').uint32(0).finish()), { bindAddress: '', port: 0 });
    assert.throws(() => decodeDirectTcpip(Buffer.from([0, 0, 0, 9, 1])));
  });

  it('encodes forwarded-tcpip, forwarded-streamlocal and the allocated port', () => {
    const reader = new Reader(encodeForwardedTcpip({ address: 'localhost', port: 8080 }, { address: '127.0.0.1', port: 5555 }));
    assert.deepEqual([reader.text(), reader.uint32(), reader.text(), reader.uint32()], ['localhost', 8080, '127.0.0.1', 5555]);
    const streamlocal = new Reader(encodeForwardedStreamlocal('/tmp/s'));
    assert.deepEqual([streamlocal.text(), streamlocal.text()], ['/tmp/s', '']);
    assert.equal(new Reader(encodeAllocatedPort(40123)).uint32(), 40123);
  });

  it('reports system errors in the C library\'s words', () => {
    assert.equal(systemErrorText(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), 'Connection refused');
    assert.equal(systemErrorText(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' })), 'Name or service not known');
    assert.equal(systemErrorText(new Error('something else')), 'something else');
  });
});
