/**
 * sftp's interactive commands (sftp.c parse_dispatch_command): one line in, its effect and OpenSSH's
 * output and messages out. The result says how to go on: 0 next command, 1 quit, -1 stop (an error in
 * batch mode, unless the line began with `-`).
 */
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs';
import { homedir } from 'node:os';
import { isDirectory, isRegularFile, serverText, SftpStatusError, SSH_FXF, type SftpAttributes } from '../sftp/client/index.ts';
import { SFTP_EXTENSION } from '../sftp/protocol.ts';
import { parseCommandLine, type ParsedCommand } from './sftp-commands-parse.ts';
import { dfReport } from './sftp-commands-format.ts';
import { listDirectory, listGlob } from './sftp-commands-ls.ts';
import { processGet, processPut } from './sftp-commands-transfer.ts';
import { makeAbsolute, makeAbsoluteGlob, remoteGlob, type ShellContext } from './sftp-commands-context.ts';
import { localErrorText } from '../sftp/client/local-errors.ts';

export const HELP = `Available commands:
bye                                Quit sftp
cd path                            Change remote directory to 'path'
chgrp [-h] grp path                Change group of file 'path' to 'grp'
chmod [-h] mode path               Change permissions of file 'path' to 'mode'
chown [-h] own path                Change owner of file 'path' to 'own'
copy oldpath newpath               Copy remote file
cp oldpath newpath                 Copy remote file
df [-hi] [path]                    Display statistics for current directory or
                                   filesystem containing 'path'
exit                               Quit sftp
get [-afpR] remote [local]         Download file
help                               Display this help text
lcd path                           Change local directory to 'path'
lls [ls-options [path]]            Display local directory listing
lmkdir path                        Create local directory
ln [-s] oldpath newpath            Link remote file (-s for symlink)
lpwd                               Print local working directory
ls [-1afhlnrSt] [path]             Display remote directory listing
lumask umask                       Set local umask to 'umask'
mkdir path                         Create remote directory
progress                           Toggle display of progress meter
put [-afpR] local [remote]         Upload file
pwd                                Display remote working directory
quit                               Quit sftp
reget [-fpR] remote [local]        Resume download file
rename oldpath newpath             Rename remote file
reput [-fpR] local [remote]        Resume upload file
rm path                            Delete remote file
rmdir path                         Remove remote directory
symlink oldpath newpath            Symlink remote file
version                            Show SFTP version
!command                           Execute 'command' in local shell
!                                  Escape to local shell
?                                  Synonym for help
`;

/** A remote operation's status error as OpenSSH words it; anything else (the connection) passes through. */
async function remote(context: ShellContext, operation: Promise<unknown>, describe: (message: string) => string): Promise<number> {
  try {
    await operation;
    return 0;
  } catch (error) {
    if (!(error instanceof SftpStatusError)) throw error;
    context.error(describe(error.message));
    return -1;
  }
}

/** sftp.c local_do_shell: $SHELL -c command, or an interactive shell. */
function localShell(context: ShellContext, command: string): void {
  const shell = process.env.SHELL || '/bin/sh';
  const result = spawnSync(shell, command ? ['-c', command] : [], { stdio: 'inherit' });
  if (result.error) context.error(`Couldn't execute "${shell}": ${localErrorText(result.error)}`);
  else if (result.status === null) context.error('Shell exited abnormally');
  else if (result.status !== 0) context.error(`Shell exited with status ${result.status}`);
}

export class SftpShell {
  readonly context: ShellContext;
  /** The remote working directory. */
  pwd: string;
  private readonly startDirectory: string;

  constructor(context: ShellContext, pwd: string) {
    this.context = context;
    this.pwd = pwd;
    this.startDirectory = pwd;
  }

  /**
   * Runs one command line. `abortOnError` is batch mode's rule; `echo` prints "sftp> LINE" first (batch
   * files and piped input, unless the line begins with `@`).
   */
  async run(line: string, abortOnError: boolean, echo: boolean): Promise<number> {
    const parsed = parseCommandLine(line);
    if (parsed.ignoreErrors) abortOnError = false;
    if (echo && !parsed.disableEcho) this.context.print(`sftp> ${line}\n`);
    let status = 0;
    if (parsed.error !== undefined) {
      this.context.error(parsed.error);
      status = -1;
    } else if (parsed.command !== undefined) {
      status = await this.dispatch(parsed.command, abortOnError);
    }
    if (abortOnError && status !== 0) return -1;
    return parsed.command?.command === 'quit' ? 1 : 0;
  }

  private async dispatch(command: ParsedCommand, abortOnError: boolean): Promise<number> {
    const context = this.context;
    const { sftp } = context;
    const flags = command.flags;
    const absolute = (path: string) => makeAbsolute(path, this.pwd);
    switch (command.command) {
      case 'get':
      case 'reget':
        return processGet(context, command.path1!, command.path2, this.pwd, {
          preserve: flags.has('p') || flags.has('P'), recursive: flags.has('r') || flags.has('R'), resume: command.command === 'reget' || flags.has('a'), fsync: flags.has('f'),
        });
      case 'put':
      case 'reput':
        return processPut(context, command.path1!, command.path2, this.pwd, {
          preserve: flags.has('p') || flags.has('P'), recursive: flags.has('r') || flags.has('R'), resume: command.command === 'reput' || flags.has('a'), fsync: flags.has('f'),
        });
      case 'copy':
        return this.copy(absolute(command.path1!), absolute(command.path2!));
      case 'rename': {
        const from = absolute(command.path1!);
        const to = absolute(command.path2!);
        return remote(context, sftp.rename(from, to, { legacy: flags.has('l') }), (message) => `remote rename "${from}" to "${to}": ${message}`);
      }
      case 'symlink':
      case 'link': {
        const symbolic = command.command === 'symlink' || flags.has('s');
        // A symlink's target is kept as typed (it may be relative to the link); a hard link's is resolved.
        const from = symbolic ? command.path1! : absolute(command.path1!);
        const to = absolute(command.path2!);
        if (symbolic) return remote(context, sftp.symlink(from, to), (message) => `remote symlink file "${from}" to "${to}": ${message}`);
        return remote(context, sftp.hardlink(from, to), (message) => (message.startsWith('Server does not') ? message : `remote link "${from}" to "${to}": ${message}`));
      }
      case 'rm': {
        const { matches } = await remoteGlob(context, makeAbsoluteGlob(command.path1, this.pwd), { noCheck: true });
        let status = 0;
        for (const match of matches) {
          if (context.signal?.aborted) break;
          if (!context.quiet) context.print(`Removing ${match.path}\n`);
          status = await remote(context, sftp.remove(match.path), (message) => `remote delete ${match.path}: ${message}`);
          if (status !== 0 && abortOnError) break;
        }
        return status;
      }
      case 'mkdir': {
        const path = absolute(command.path1!);
        return remote(context, sftp.mkdir(path, { permissions: 0o777 }), (message) => `remote mkdir "${path}": ${message}`);
      }
      case 'rmdir': {
        const path = absolute(command.path1!);
        return remote(context, sftp.rmdir(path), (message) => `remote rmdir "${path}": ${message}`);
      }
      case 'cd':
        return this.changeDirectory(command.path1);
      case 'ls':
        if (command.path1 === undefined) {
          await listDirectory(context, this.pwd, this.pwd, command.lsFlags);
          return 0;
        }
        return listGlob(context, command.path1, this.pwd, command.lsFlags);
      case 'df': {
        const path = absolute(command.path1 ?? this.pwd);
        try {
          context.print(dfReport(await sftp.statvfs(path), { human: flags.has('h'), inodes: flags.has('i') }));
          return 0;
        } catch (error) {
          if (!(error instanceof SftpStatusError)) throw error;
          // do_df asks do_statvfs to be quiet: a refused statvfs only fails the command ("remote statvfs" is
          // a debug line); a server without the extension is still reported.
          if (error.message.startsWith('Server does not')) context.error(error.message);
          return -1;
        }
      }
      case 'lcd': {
        let path = command.path1 || '~';
        if (path === '~' || path.startsWith('~/')) path = homedir() + path.slice(1);
        try {
          process.chdir(path);
          return 0;
        } catch (error) {
          context.error(`Couldn't change local directory to "${path}": ${localErrorText(error)}`);
          return 1;
        }
      }
      case 'lmkdir': {
        const path = command.path1!;
        const failure = await new Promise<Error | null>((resolve) => mkdir(path, 0o777, resolve));
        if (failure) {
          context.error(`Couldn't create local directory "${path}": ${localErrorText(failure)}`);
          return 1;
        }
        return 0;
      }
      case 'lls':
        localShell(context, command.rest ? `ls ${command.rest}` : 'ls');
        return 0;
      case 'shell':
        localShell(context, command.rest);
        return 0;
      case 'lumask':
        process.umask(command.number!);
        context.print(`Local umask: ${command.number!.toString(8).padStart(3, '0')}\n`);
        return 0;
      case 'chmod':
        return this.changeAttributes(command, abortOnError, 'Changing mode on', () => ({ permissions: command.number! }));
      case 'chown':
      case 'chgrp':
        return this.changeOwnership(command, abortOnError);
      case 'pwd':
        context.print(`Remote working directory: ${this.pwd}\n`);
        return 0;
      case 'lpwd':
        context.print(`Local working directory: ${process.cwd()}\n`);
        return 0;
      case 'quit':
        return 0;
      case 'help':
        context.print(HELP);
        return 0;
      case 'version':
        context.print(`SFTP protocol version ${sftp.version}\n`);
        return 0;
      case 'progress':
        context.showProgress = !context.showProgress;
        context.print(context.showProgress ? 'Progress meter enabled\n' : 'Progress meter disabled\n');
        return 0;
    }
  }

  /** sftp-client.c do_copy: the server copies the file (copy-data), keeping its permissions but not set-id bits. */
  private async copy(from: string, to: string): Promise<number> {
    const { sftp } = this.context;
    if (!sftp.supports(SFTP_EXTENSION.COPY_DATA, '1')) {
      this.context.error('Server does not support copy-data extension');
      return -1;
    }
    let attrs: SftpAttributes;
    try {
      attrs = await sftp.stat(from);
    } catch (error) {
      if (!(error instanceof SftpStatusError)) throw error;
      if (!this.context.quiet) this.context.error(`stat remote: ${error.message}`);
      return -1;
    }
    if (attrs.permissions !== undefined && !isRegularFile(attrs)) {
      this.context.error(`Cannot copy non-regular file: ${from}`);
      return -1;
    }
    const permissions = attrs.permissions !== undefined ? attrs.permissions & 0o777 : 0o666;
    const open = async (path: string, pflags: number, openAttrs: SftpAttributes) => {
      try {
        return await sftp.open(path, pflags, openAttrs);
      } catch (error) {
        if (!(error instanceof SftpStatusError)) throw error;
        this.context.error(`remote open("${path}"): ${error.message}`);
        return undefined;
      }
    };
    const source = await open(from, SSH_FXF.READ, {});
    if (source === undefined) return -1;
    const destination = await open(to, SSH_FXF.WRITE | SSH_FXF.CREAT | SSH_FXF.TRUNC, { permissions });
    if (destination === undefined) {
      await sftp.close(source).catch(() => {});
      return -1;
    }
    const status = await remote(this.context, sftp.copyData(source, destination), (message) => `Couldn't copy file "${from}" to "${to}": ${message}`);
    await sftp.close(source).catch(() => {});
    await sftp.close(destination).catch(() => {});
    return status;
  }

  private async changeDirectory(path: string | undefined): Promise<number> {
    const context = this.context;
    const wanted = makeAbsolute(path || this.startDirectory, this.pwd);
    let resolved: string;
    try {
      resolved = await context.sftp.realpath(wanted);
    } catch (error) {
      if (!(error instanceof SftpStatusError)) throw error;
      // do_realpath prints the server's own text when it sent one.
      context.error(`realpath ${wanted}: ${serverText(error)}`);
      return 1;
    }
    let attrs: SftpAttributes;
    try {
      attrs = await context.sftp.stat(resolved);
    } catch (error) {
      if (!(error instanceof SftpStatusError)) throw error;
      if (!context.quiet) context.error(`stat remote: ${error.message}`);
      return 1;
    }
    if (attrs.permissions === undefined) {
      context.error("Can't change directory: Can't check target");
      return 1;
    }
    if (!isDirectory(attrs)) {
      context.error(`Can't change directory: "${resolved}" is not a directory`);
      return 1;
    }
    this.pwd = resolved;
    return 0;
  }

  private async changeAttributes(command: ParsedCommand, abortOnError: boolean, verb: string, attrs: () => SftpAttributes): Promise<number> {
    const context = this.context;
    const { matches } = await remoteGlob(context, makeAbsoluteGlob(command.path1, this.pwd), { noCheck: true });
    const noFollow = command.flags.has('h');
    let status = 0;
    for (const match of matches) {
      if (context.signal?.aborted) break;
      if (!context.quiet) context.print(`${verb} ${match.path}\n`);
      status = await this.setAttributes(match.path, attrs(), noFollow);
      if (status !== 0 && abortOnError) break;
    }
    return status;
  }

  /** setstat, or lsetstat@openssh.com with -h, worded as do_setstat / do_lsetstat report failures. */
  private setAttributes(path: string, attrs: SftpAttributes, noFollow: boolean): Promise<number> {
    const { sftp } = this.context;
    const change = noFollow ? sftp.lsetstat(path, attrs) : sftp.setstat(path, attrs);
    return remote(this.context, change, (message) => (message.startsWith('Server does not') ? message : `remote ${noFollow ? 'lsetstat' : 'setstat'} "${path}": ${message}`));
  }

  private async changeOwnership(command: ParsedCommand, abortOnError: boolean): Promise<number> {
    const context = this.context;
    const { matches } = await remoteGlob(context, makeAbsoluteGlob(command.path1, this.pwd), { noCheck: true });
    const noFollow = command.flags.has('h');
    let status = 0;
    for (const match of matches) {
      if (context.signal?.aborted) break;
      let current: SftpAttributes;
      try {
        current = noFollow ? await context.sftp.lstat(match.path) : await context.sftp.stat(match.path);
      } catch (error) {
        if (!(error instanceof SftpStatusError)) throw error;
        if (!context.quiet) context.error(`stat remote: ${error.message}`);
        if (abortOnError) return -1;
        continue;
      }
      if (current.uid === undefined || current.gid === undefined) {
        context.error(`Can't get current ownership of remote file "${match.path}"`);
        if (abortOnError) return -1;
        continue;
      }
      const owner = command.command === 'chown' ? { uid: command.number!, gid: current.gid } : { uid: current.uid, gid: command.number! };
      if (!context.quiet) context.print(`${command.command === 'chown' ? 'Changing owner on' : 'Changing group on'} ${match.path}\n`);
      status = await this.setAttributes(match.path, owner, noFollow);
      if (status !== 0 && abortOnError) break;
    }
    return status;
  }
}
