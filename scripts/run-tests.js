#!/usr/bin/env node
// Runs the full test suite. The interop tests need real OpenSSH peers and a few Debian tools; when any is
// missing this installs them with apt-get (as root), or names exactly what is missing and fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const REQUIRED = [
  { path: '/usr/sbin/sshd', pkg: 'openssh-server' },
  { path: '/usr/bin/ssh', pkg: 'openssh-client' },
  { path: '/usr/bin/ssh-keygen', pkg: 'openssh-client' },
  { path: '/usr/bin/ssh-agent', pkg: 'openssh-client' },
  { path: '/usr/bin/ssh-add', pkg: 'openssh-client' },
  { path: '/usr/bin/sshpass', pkg: 'sshpass' },
  { path: '/usr/bin/tmux', pkg: 'tmux' },
  { path: '/usr/bin/ssh-audit', pkg: 'ssh-audit' },
  { path: '/usr/bin/Xvfb', pkg: 'xvfb' },
  { path: '/usr/bin/xauth', pkg: 'xauth' },
  { path: '/usr/bin/xdpyinfo', pkg: 'x11-utils' },
  { path: '/usr/bin/curl', pkg: 'curl' },
  // Independent SSH implementations (test/interop/independent-peers.test.ts); Debian's python3 has the modules.
  { path: '/usr/sbin/dropbear', pkg: 'dropbear-bin' },
  { path: '/usr/bin/dbclient', pkg: 'dropbear-bin' },
  { path: '/usr/bin/dropbearkey', pkg: 'dropbear-bin' },
  { path: '/usr/bin/dropbearconvert', pkg: 'dropbear-bin' },
  { path: '/usr/bin/python3', pkg: 'python3' },
  { path: '/usr/lib/python3/dist-packages/paramiko/__init__.py', pkg: 'python3-paramiko' },
  { path: '/usr/lib/python3/dist-packages/asyncssh/__init__.py', pkg: 'python3-asyncssh' },
  // A real MIT KDC for gssapi-with-mic (test/interop/gssapi*.test.ts); the headers build native/gssapi.
  { path: '/usr/sbin/krb5kdc', pkg: 'krb5-kdc' },
  { path: '/usr/sbin/kadmin.local', pkg: 'krb5-admin-server' },
  { path: '/usr/bin/kinit', pkg: 'krb5-user' },
  { path: '/usr/include/gssapi/gssapi.h', pkg: 'libkrb5-dev' },
];

function missingPeers() {
  return REQUIRED.filter((tool) => !existsSync(tool.path));
}

let missing = missingPeers();
if (missing.length > 0 && process.getuid?.() === 0) {
  const packages = [...new Set(missing.map((tool) => tool.pkg))];
  console.log(`installing test peers: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
  missing = missingPeers();
}
// libkrb5-dev may have arrived only now, after npm install ran without it: build native/gssapi then (the
// install script builds both addons), so the Kerberos tests run rather than find GSSAPI unavailable.
if (existsSync('/usr/include/gssapi/gssapi.h') && !existsSync('native/gssapi/build/Release/gssapi.node')) {
  console.log('building native/gssapi');
  spawnSync('npm', ['run', '--silent', 'install'], { stdio: 'inherit' });
}
if (missing.length > 0) {
  console.error('The interop tests need these programs, which are missing:');
  for (const tool of missing) console.error(`  ${tool.path}  (Debian package ${tool.pkg})`);
  console.error(`Install them with: sudo apt-get install ${[...new Set(missing.map((t) => t.pkg))].join(' ')}`);
  process.exit(1);
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) return findTests(full);
    return entry.endsWith('.test.js') ? [full] : [];
  });
}

const filter = process.argv.slice(2);
const files = findTests('dist/test')
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
