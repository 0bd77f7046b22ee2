/**
 * A real MIT KDC for the Kerberos tests (gssapi-with-mic, RFC 4462): realm TETHER.TEST on 127.0.0.1 with a
 * free port, its database, configuration, keytab and credential cache all under a temporary directory,
 * never the machine's own /etc/krb5.conf or keytab. `krb5kdc -n` runs in the foreground and is stopped by PID.
 *
 * Processes that should use the realm get `kdc.env` (KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5_KTNAME, KRB5CCNAME).
 * The host principals are host/127.0.0.1 and host/localhost: OpenSSH's client asks for host@<the name it was
 * given>, and krb5.conf turns off DNS canonicalisation so that name is used as it is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir, TEST_USER } from './openssh.ts';
import { stopProcess } from './processes.ts';

export const KDC_REALM = 'TETHER.TEST';
/** The test user's principal and password: the local account TEST_USER maps to it by aname-to-lname. */
export const KRB5_USER = TEST_USER;
export const KRB5_PASSWORD = 'kerberos horse battery staple';
export const HOST_PRINCIPALS = ['host/127.0.0.1', 'host/localhost'];

export interface KinitOptions {
  /** kinit -l (e.g. "10m"). */
  lifetime?: string;
  /** kinit -r: ask for a renewable ticket (e.g. "1d"). */
  renewable?: string;
  /** Another ccache than the KDC's default one (kdc.env.KRB5CCNAME). */
  ccache?: string;
  /** Password; the principal's own by default. */
  password?: string;
}

export interface TestKdc {
  readonly dir: string;
  readonly port: number;
  readonly realm: string;
  /** The keytab with the host principals' keys (KRB5_KTNAME). */
  readonly keytab: string;
  /** The default credential cache (FILE:…), what kinit() fills. */
  readonly ccache: string;
  /** KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5_KTNAME, KRB5CCNAME for processes using the realm. */
  readonly env: Record<string, string>;
  /** Adds a principal with a password (or a random key when none is given). */
  addPrincipal(name: string, password?: string): void;
  /** Gets a TGT for `principal` (default KRB5_USER) into the ccache; throws with kinit's message on failure. */
  kinit(principal?: string, options?: KinitOptions): void;
  /** `klist` of a ccache (default the KDC's), stdout. */
  klist(ccache?: string): string;
  kdestroy(ccache?: string): void;
  /** kadmin.local query, stdout; throws on failure. */
  kadmin(query: string): string;
  stop(): Promise<void>;
}

const MASTER_PASSWORD = 'master key for the test realm';

function run(command: string, args: string[], env: Record<string, string>, input?: string): string {
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port, or rejects after `timeoutMs`. */
async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 25))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`krb5kdc exited at start: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`krb5kdc did not listen on ${port} within ${timeoutMs} ms: ${log()}`);
  }
}

export async function startKdc(): Promise<TestKdc> {
  const dir = tempDir('tether-kdc-');
  // Sessions run as the test user and read krb5.conf (kinit -R in the session); the keytab, database and
  // stash stay private by their own modes (0600).
  chmodSync(dir, 0o755);
  const port = await freePort();
  const krb5Conf = join(dir, 'krb5.conf');
  const kdcConf = join(dir, 'kdc.conf');
  const keytab = join(dir, 'host.keytab');
  const ccache = `FILE:${join(dir, 'ccache')}`;
  writeFileSync(
    krb5Conf,
    [
      '[libdefaults]',
      `  default_realm = ${KDC_REALM}`,
      '  dns_lookup_realm = false',
      '  dns_lookup_kdc = false',
      '  dns_canonicalize_hostname = false',
      '  rdns = false',
      // TCP only: the KDC's UDP port is not reserved by freePort, and a forwarded TGT can exceed a datagram anyway.
      '  udp_preference_limit = 1',
      '  forwardable = true',
      '  ignore_acceptor_hostname = false',
      '',
      '[realms]',
      `  ${KDC_REALM} = {`,
      `    kdc = 127.0.0.1:${port}`,
      '  }',
      '',
      '[domain_realm]',
      `  127.0.0.1 = ${KDC_REALM}`,
      `  localhost = ${KDC_REALM}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    kdcConf,
    [
      '[kdcdefaults]',
      '  kdc_listen = ""',
      `  kdc_tcp_listen = 127.0.0.1:${port}`,
      '',
      '[realms]',
      `  ${KDC_REALM} = {`,
      `    database_name = ${join(dir, 'principal')}`,
      `    key_stash_file = ${join(dir, 'stash')}`,
      `    acl_file = ${join(dir, 'kadm5.acl')}`,
      '    max_life = 10h',
      '    max_renewable_life = 7d',
      '    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
      '  }',
      '',
      '[logging]',
      `  kdc = FILE:${join(dir, 'kdc.log')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'kadm5.acl'), '');
  const env: Record<string, string> = {
    KRB5_CONFIG: krb5Conf,
    KRB5_KDC_PROFILE: kdcConf,
    KRB5_KTNAME: `FILE:${keytab}`,
    KRB5CCNAME: ccache,
  };
  const kadmin = (query: string) => run('kadmin.local', ['-q', query], env);
  let child: ChildProcess | undefined;
  try {
    run('kdb5_util', ['create', '-s', '-r', KDC_REALM, '-P', MASTER_PASSWORD], env);
    kadmin(`modprinc -maxrenewlife 7d krbtgt/${KDC_REALM}`);
    kadmin(`addprinc -pw "${KRB5_PASSWORD}" -maxrenewlife 7d ${KRB5_USER}`);
    for (const principal of HOST_PRINCIPALS) kadmin(`addprinc -randkey ${principal}`);
    kadmin(`ktadd -k ${keytab} ${HOST_PRINCIPALS.join(' ')}`);

    let log = '';
    child = spawn('krb5kdc', ['-n', '-r', KDC_REALM], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (text: Buffer) => {
      if (log.length < 64 * 1024) log += text.toString('utf8');
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    await waitForPort(port, child, () => log);
  } catch (error) {
    if (child) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const kdcProcess = child;

  return {
    dir,
    port,
    realm: KDC_REALM,
    keytab,
    ccache,
    env,
    addPrincipal(name, password) {
      kadmin(password === undefined ? `addprinc -randkey ${name}` : `addprinc -pw "${password}" -maxrenewlife 7d ${name}`);
    },
    kinit(principal = KRB5_USER, options = {}) {
      const args = [
        ...(options.lifetime ? ['-l', options.lifetime] : []),
        ...(options.renewable ? ['-r', options.renewable] : []),
        '-c', options.ccache ?? ccache,
        principal,
      ];
      // MIT kinit reads the password from stdin when it is not a terminal.
      run('kinit', args, env, `${options.password ?? KRB5_PASSWORD}\n`);
    },
    klist(cache = ccache) {
      return run('klist', ['-f', '-c', cache], env);
    },
    kdestroy(cache = ccache) {
      spawnSync('kdestroy', ['-q', '-c', cache], { env: { ...process.env, ...env }, timeout: 10_000 });
    },
    kadmin,
    async stop() {
      await stopProcess(kdcProcess);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
