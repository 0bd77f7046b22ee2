/**
 * Paramiko and AsyncSSH clients for the interop tests, as Python programs run by Debian's /usr/bin/python3
 * (python3-paramiko, python3-asyncssh). Each logs in with an ed25519 key, asks for compression, re-exchanges
 * keys every MiB from its own side, uploads a file to `sha256sum`, downloads it with `cat`, and prints one JSON
 * line: {"up": digest, "down": digest, "bytes": n, "status": exit status, "compression": [...]}.
 * The scripts live here as text because the tests run from dist/, where only compiled files are.
 */
import { run, type RunResult } from './server-harness.ts';

export const PYTHON = '/usr/bin/python3';

const PARAMIKO_CLIENT = String.raw`
import hashlib, json, sys
import paramiko
from paramiko.packet import Packetizer

host, port, user, keyfile, datafile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
Packetizer.REKEY_BYTES = 1 << 20  # paramiko's own re-exchange threshold (default 512 MiB)
t = paramiko.Transport((host, port))
t.use_compression(True)
t.start_client(timeout=30)
t.auth_publickey(user, paramiko.Ed25519Key.from_private_key_file(keyfile))
data = open(datafile, 'rb').read()

ch = t.open_session()
ch.exec_command('sha256sum')
ch.sendall(data)
ch.shutdown_write()
out = b''
while True:
    chunk = ch.recv(65536)
    if not chunk:
        break
    out += chunk
ch.recv_exit_status()
ch.close()

ch = t.open_session()
ch.exec_command('cat ' + datafile)
digest = hashlib.sha256()
size = 0
while True:
    chunk = ch.recv(1 << 20)
    if not chunk:
        break
    digest.update(chunk)
    size += len(chunk)
status = ch.recv_exit_status()
ch.close()
print(json.dumps({'up': out.split()[0].decode(), 'down': digest.hexdigest(), 'bytes': size, 'status': status,
                  'compression': [t.local_compression, t.remote_compression]}))
t.close()
`;

const ASYNCSSH_CLIENT = String.raw`
import asyncio, hashlib, json, sys
import asyncssh

host, port, user, keyfile, datafile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

async def main():
    data = open(datafile, 'rb').read()
    async with asyncssh.connect(host, port, username=user, client_keys=[keyfile], known_hosts=None,
                                compression_algs=['zlib@openssh.com'], rekey_bytes=1 << 20) as conn:
        up = await conn.run('sha256sum', input=data, encoding=None, check=True)
        digest = hashlib.sha256()
        size = 0
        proc = await conn.create_process('cat ' + datafile, encoding=None)
        while True:
            chunk = await proc.stdout.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        result = await proc.wait()
        print(json.dumps({'up': up.stdout.split()[0].decode(), 'down': digest.hexdigest(), 'bytes': size,
                          'status': result.exit_status, 'compression': [conn.get_extra_info('send_compression'),
                                                                        conn.get_extra_info('recv_compression')]}))

asyncio.run(asyncio.wait_for(main(), 240))
`;

export interface TransferReport {
  up: string;
  down: string;
  bytes: number;
  status: number;
  compression: Array<string | null>;
}

/** Runs one of the clients against 127.0.0.1:`port`; rejects with its stderr when it fails. */
export async function runPythonClient(
  which: 'paramiko' | 'asyncssh',
  port: number,
  user: string,
  keyFile: string,
  dataFile: string,
): Promise<{ report: TransferReport; result: RunResult }> {
  const script = which === 'paramiko' ? PARAMIKO_CLIENT : ASYNCSSH_CLIENT;
  // -W ignore: the cryptography package warns about deprecated ciphers on import, which is noise here.
  const result = await run(PYTHON, ['-W', 'ignore', '-c', script, '127.0.0.1', String(port), user, keyFile, dataFile], {
    timeoutMs: 280_000,
  });
  if (result.status !== 0) throw new Error(`${which} client exited ${result.status}: ${result.stderr.slice(-4000)}`);
  return { report: JSON.parse(result.stdout.toString()) as TransferReport, result };
}
