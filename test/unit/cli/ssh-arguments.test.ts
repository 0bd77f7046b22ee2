/**
 * ssh's command line in argv order (ssh.c): the first value obtained wins for -l/-p/user@/-o User/-o Port,
 * assigning flags (-q, -v, -t) act where they stand, and options may follow the destination.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSshArguments } from '../../../src/cli/ssh-arguments.ts';
import { resolveClientSettings } from '../../../src/cli/ssh-settings.ts';

async function resolve(...argv: string[]) {
  const settings = await resolveClientSettings(parseSshArguments(['-F', 'none', ...argv]));
  return settings.resolved;
}

describe('ssh command-line precedence', () => {
  it('keeps the first user: -o User, -l and user@ in whatever order they come', async () => {
    assert.equal((await resolve('-o', 'User=x', '-l', 'y', 'h')).user, 'x');
    assert.equal((await resolve('-l', 'y', '-o', 'User=x', 'h')).user, 'y');
    assert.equal((await resolve('-o', 'User=x', 'y@h')).user, 'x');
    assert.equal((await resolve('-l', 'z', 'y@h')).user, 'z');
    assert.equal((await resolve('y@h', '-l', 'z')).user, 'y');
  });

  it('keeps the first port: -o Port, -p and ssh://host:port', async () => {
    assert.equal((await resolve('-o', 'Port=5', '-p', '6', 'h')).port, 5);
    assert.equal((await resolve('-p', '6', '-o', 'Port=5', 'h')).port, 6);
    assert.equal((await resolve('ssh://u@h:7', '-p', '8')).port, 7);
    assert.equal((await resolve('-p', '8', 'ssh://u@h:7')).port, 8);
  });

  it('applies -q and -v where they stand, and -v over an earlier LogLevel', async () => {
    // As `ssh -G` prints it.
    const level = async (...argv: string[]) => (await resolve(...argv)).raw.loglevel?.[0];
    assert.equal(await level('-v', '-q', 'h'), 'SILENT');
    assert.equal(await level('-q', '-v', 'h'), 'DEBUG');
    assert.equal(await level('-o', 'LogLevel=ERROR', '-v', '-v', 'h'), 'DEBUG2');
    assert.equal(await level('-vvvv', 'h'), 'DEBUG3');
  });

  it('toggles -t from what came before it', async () => {
    assert.equal((await resolve('-o', 'RequestTTY=force', '-t', 'h')).requestTTY, 'yes');
    assert.equal((await resolve('-t', '-t', 'h')).requestTTY, 'force');
  });

  it('reads options after the destination, up to the command or --', () => {
    const after = parseSshArguments(['h', '-l', 'u', '-p', '2', 'ls', '-l']);
    assert.equal(after.destination, 'h');
    assert.deepEqual(after.command, ['ls', '-l']);
    assert.equal(after.flags.user, 'u');
    assert.equal(after.flags.port, 2);
    const terminated = parseSshArguments(['--', 'h', '-l', 'u']);
    assert.deepEqual(terminated.command, ['-l', 'u']);
    assert.equal(terminated.flags.user, undefined);
    const dashes = parseSshArguments(['h', '--', '-l']);
    assert.deepEqual(dashes.command, ['-l']);
  });

  it('keeps -E, -F and -O for the caller', () => {
    const parsed = parseSshArguments(['-E', '/tmp/log', '-F', 'none', '-O', 'check', 'h']);
    assert.equal(parsed.logFile, '/tmp/log');
    assert.equal(parsed.configFile, 'none');
    assert.equal(parsed.controlCommand, 'check');
  });
});
