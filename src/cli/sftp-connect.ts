/**
 * The SSH connection under `tether sftp` and `tether scp`. OpenSSH's sftp and scp run ssh(1) with an
 * argument list built from their own flags (sftp.c main, scp.c do_cmd); here that same list is parsed by
 * ssh's own parser and connected in-process as `tether ssh` would (configuration, ProxyJump/ProxyCommand,
 * known hosts, keys, agent), so every ssh_config option and -o work identically.
 */
import { EarlyExit, parseSshArguments, type SshInvocation } from './ssh-arguments.ts';
import { GetoptError } from './getopt.ts';
import { LOG, openSshLog, type SshLog } from './ssh-log.ts';
import { resolveClientSettings, type ClientSettings } from './ssh-settings.ts';
import { openProxyStream } from './ssh-proxy.ts';
import { buildConnectOptions, describeFailure } from './ssh.ts';
import { connect, type SshClient } from '../client/client.ts';
import { openSftp, SftpClient, type SftpClientOptions } from '../sftp/client/index.ts';

export interface TransferConnection {
  client: SshClient;
  settings: ClientSettings;
  log: SshLog;
}

/** Connecting failed; ssh's message has been printed already. */
export class ConnectFailedError extends Error {
  override readonly name = 'ConnectFailedError';
}

/** The ssh options sftp and scp always pass first (sftp.c main, scp.c main). */
export const TRANSFER_SSH_OPTIONS = ['-oForwardX11 no', '-oPermitLocalCommand no', '-oClearAllForwardings yes'];

/** Connects as `ssh <sshArgv>` would. Throws ConnectFailedError once the reason is printed. */
export async function connectAsSsh(sshArgv: string[]): Promise<TransferConnection> {
  let invocation: SshInvocation;
  try {
    invocation = parseSshArguments(sshArgv);
  } catch (error) {
    if (error instanceof EarlyExit) throw new ConnectFailedError('early exit');
    if (!(error instanceof GetoptError)) throw error;
    process.stderr.write(`${error.message}\n`);
    throw new ConnectFailedError(error.message);
  }
  const level = invocation.flags.verbose ? Math.min(LOG.debug1 + invocation.flags.verbose - 1, LOG.debug3) : invocation.flags.quiet ? LOG.quiet : LOG.info;
  const logger = openSshLog(level, invocation.logFile);
  let settings: ClientSettings;
  try {
    settings = await resolveClientSettings(invocation, (message) => logger.log(LOG.error, message));
  } catch (error) {
    logger.log(LOG.fatal, (error as Error).message);
    throw new ConnectFailedError((error as Error).message);
  }
  logger.level = settings.logLevel;
  const config = settings.resolved;
  try {
    const client = await connect({
      ...buildConnectOptions(settings, logger.log, logger.debug),
      stream: await openProxyStream(config, { log: logger.log, debug: logger.debug, configFile: invocation.configFile, verbose: invocation.flags.verbose }),
    });
    return { client, settings, log: logger };
  } catch (error) {
    logger.log(LOG.error, describeFailure(error as Error, config.user, config.hostname, config.port));
    throw new ConnectFailedError((error as Error).message);
  }
}

/** Connects and starts the sftp subsystem (or, with a '/' in `subsystem`, runs it as a command, as sftp -s does). */
export async function connectSftp(sshArgv: string[], options: SftpClientOptions & { subsystem?: string } = {}): Promise<TransferConnection & { sftp: SftpClient }> {
  const connection = await connectAsSsh(sshArgv);
  const subsystem = options.subsystem ?? 'sftp';
  let sftp: SftpClient;
  try {
    if (subsystem.includes('/')) {
      const session = await connection.client.exec(subsystem);
      session.stderr.pipe(process.stderr, { end: false });
      sftp = await SftpClient.open(session.channel, options);
    } else {
      sftp = await openSftp(connection.client, { ...options, subsystem });
    }
  } catch (error) {
    connection.client.end();
    // ssh says "subsystem request failed on channel 0"; sftp then finds the stream closed.
    if (/subsystem request/.test((error as Error).message)) process.stderr.write('subsystem request failed on channel 0\r\n');
    throw new ConnectFailedError((error as Error).message);
  }
  return { ...connection, sftp };
}
