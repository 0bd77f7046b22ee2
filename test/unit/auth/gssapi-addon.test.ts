/**
 * native/gssapi through its wrappers (src/auth/gssapi/), against a real MIT KDC on 127.0.0.1: an initiator and
 * an acceptor establish a Kerberos context in this process; MICs verify, a tampered one fails with
 * GSS_S_BAD_SIG; a delegated TGT is stored into a ccache; krb5_kuserok maps principals to accounts; the
 * failures read as MIT words them; context calls run on the thread pool; and a missing addon is reported
 * with a reason rather than breaking anything.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startKdc, type TestKdc } from '../../helpers/kdc.ts';
import { AcceptorContext, InitiatorContext } from '../../../src/auth/gssapi/gssapi-context.ts';
import {
  GSS_C_DELEG_FLAG, GSS_C_INTEG_FLAG, GSS_C_MUTUAL_FLAG, GSS_S_BAD_SIG, GSS_S_NO_CRED, GssapiError, gssapi, gssapiUnavailableReason, loadAddon,
} from '../../../src/auth/gssapi/gssapi-addon.ts';
import { KRB5_MECHANISM_OID_CONTENT } from '../../../src/auth/gssapi/gssapi-messages.ts';

async function establish(delegate: boolean): Promise<{ initiator: InitiatorContext; acceptor: AcceptorContext }> {
  const initiator = new InitiatorContext('host@127.0.0.1', { delegate });
  const acceptor = new AcceptorContext(null);
  let token = (await initiator.step(null)).token;
  for (let round = 0; round < 4 && token; round++) {
    const accepted = await acceptor.step(token);
    token = accepted.token;
    if (token) token = (await initiator.step(token)).token;
  }
  assert.ok(initiator.established && acceptor.result, 'context established');
  return { initiator, acceptor };
}

describe('native/gssapi against a real MIT KDC', () => {
  let kdc: TestKdc;
  before(async () => {
    assert.equal(gssapiUnavailableReason(), undefined);
    kdc = await startKdc();
    Object.assign(process.env, kdc.env);
    kdc.kinit(undefined, { renewable: '1d' });
  });
  after(async () => {
    await kdc?.stop();
  });

  it('establishes a context with mutual authentication, integrity and delegation', async () => {
    const { initiator, acceptor } = await establish(true);
    const result = acceptor.result!;
    assert.equal(result.sourceName, 'tethertest@TETHER.TEST');
    assert.ok(result.flags & GSS_C_INTEG_FLAG);
    assert.ok(result.flags & GSS_C_MUTUAL_FLAG);
    assert.ok(result.flags & GSS_C_DELEG_FLAG);
    assert.ok(result.delegatedCredential);
    const cache = `FILE:${join(kdc.dir, 'delegated')}`;
    assert.equal(acceptor.storeDelegatedCredential(cache), true);
    assert.match(kdc.klist(cache), /Default principal: tethertest@TETHER\.TEST[\s\S]*krbtgt\/TETHER\.TEST@TETHER\.TEST/);
    initiator.dispose();
    acceptor.dispose();
  });

  it('without delegation there is no credential to store', async () => {
    const { initiator, acceptor } = await establish(false);
    assert.equal(acceptor.result!.delegatedCredential, undefined);
    assert.equal(acceptor.storeDelegatedCredential(`FILE:${join(kdc.dir, 'none')}`), false);
    initiator.dispose();
    acceptor.dispose();
  });

  it('verifies a MIC and refuses a tampered one or one over other data (GSS_S_BAD_SIG)', async () => {
    const { initiator, acceptor } = await establish(false);
    const data = Buffer.from('session id and request');
    const mic = initiator.getMic(data);
    acceptor.verifyMic(data, mic);
    const tampered = Buffer.from(mic);
    tampered[tampered.length - 1]! ^= 0x80;
    for (const [message, token] of [[data, tampered], [Buffer.from('other data'), mic]] as const) {
      assert.throws(
        () => acceptor.verifyMic(message, token),
        (error: unknown) => error instanceof GssapiError && error.routineError === GSS_S_BAD_SIG && /gss_verify_mic: .*Message Integrity Check/.test(error.message),
      );
    }
    initiator.dispose();
    acceptor.dispose();
  });

  it('runs context calls on the thread pool: the event loop turns while a step is pending', async () => {
    const initiator = new InitiatorContext('host@127.0.0.1');
    const order: string[] = [];
    const step = initiator.step(null).then(() => order.push('step'));
    setImmediate(() => order.push('immediate'));
    await step;
    assert.deepEqual(order, ['immediate', 'step']);
    initiator.dispose();
  });

  it('a defective token fails the acceptor with MIT\'s words', async () => {
    const acceptor = new AcceptorContext(null);
    await assert.rejects(acceptor.step(Buffer.from('not a kerberos token')), (error: unknown) => error instanceof GssapiError && error.operation === 'gss_accept_sec_context');
    acceptor.dispose();
  });

  it('no ticket: GSS_S_NO_CRED naming the cache', async () => {
    const empty = `FILE:${join(kdc.dir, 'empty-cache')}`;
    const saved = process.env.KRB5CCNAME;
    process.env.KRB5CCNAME = empty;
    try {
      await assert.rejects(new InitiatorContext('host@127.0.0.1').step(null), (error: unknown) =>
        error instanceof GssapiError && error.routineError === GSS_S_NO_CRED && error.minorText.includes(`No Kerberos credentials available (default cache: ${empty})`),
      );
    } finally {
      process.env.KRB5CCNAME = saved;
    }
  });

  it('a strict acceptor name needs its key in the keytab', () => {
    new AcceptorContext('host@localhost').dispose();
    assert.throws(() => new AcceptorContext('host@not-in-the-keytab.example'), (error: unknown) => error instanceof GssapiError && /No key table entry found/.test(error.minorText));
  });

  it('krb5_kuserok and aname-to-lname: user@DEFAULT_REALM is user, nobody else', () => {
    const addon = gssapi();
    assert.equal(addon.kuserok('tethertest@TETHER.TEST', 'tethertest'), true);
    assert.equal(addon.kuserok('mallory@TETHER.TEST', 'tethertest'), false);
    assert.equal(addon.kuserok('tethertest@OTHER.REALM', 'tethertest'), false);
    assert.equal(addon.localName('tethertest@TETHER.TEST'), 'tethertest');
    assert.equal(addon.localName('tethertest@OTHER.REALM'), null);
  });

  it('lists the Kerberos 5 mechanism and refuses handles of the wrong kind', () => {
    const addon = gssapi();
    assert.ok(addon.indicateMechs().some((oid) => oid.equals(KRB5_MECHANISM_OID_CONTENT)));
    const name = addon.importName('host@127.0.0.1', 'hostbased');
    assert.equal(addon.displayName(name), 'host@127.0.0.1');
    assert.throws(() => addon.getMic(name as never, Buffer.alloc(1)), TypeError);
    assert.throws(() => addon.releaseCredential({} as never), TypeError);
    addon.releaseName(name);
  });
});

describe('without the addon', () => {
  it('is unavailable with a reason, and nothing throws until it is used', () => {
    const state = loadAddon(join(tmpdir(), 'no-such-package', 'src', 'auth', 'gssapi'));
    assert.ok('reason' in state);
    assert.match(state.reason, /native\/gssapi is not built/);
  });
});
