/**
 * The connect() options `tether ssh` derives from its configuration, compared with what OpenSSH 9.2's ssh
 * puts in its KEXINIT (sshconnect2.c ssh_kex2, cipher.c compression_alg_list).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSshArguments } from '../../../src/cli/ssh-arguments.ts';
import { resolveClientSettings } from '../../../src/cli/ssh-settings.ts';
import { buildConnectOptions } from '../../../src/cli/ssh.ts';

async function connectOptions(...argv: string[]) {
  const settings = await resolveClientSettings(parseSshArguments(['-F', 'none', ...argv]));
  return buildConnectOptions(settings, () => {}, undefined);
}

describe('ssh connect options', () => {
  it('offers zlib@openssh.com,zlib,none with -C and Compression yes, as ssh does', async () => {
    assert.deepEqual((await connectOptions('-C', 'h')).algorithms?.compression, ['zlib@openssh.com', 'zlib', 'none']);
    assert.deepEqual((await connectOptions('-o', 'Compression=yes', 'h')).algorithms?.compression, ['zlib@openssh.com', 'zlib', 'none']);
  });

  it('offers none,zlib@openssh.com,zlib without compression', async () => {
    assert.deepEqual((await connectOptions('h')).algorithms?.compression, ['none', 'zlib@openssh.com', 'zlib']);
  });
});
