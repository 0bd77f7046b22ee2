/**
 * LocalCommand (with PermitLocalCommand yes): a command run on the local machine once the connection is set
 * up, as ssh does it (ssh.c ssh_session2, sshconnect.c ssh_local_cmd): its %-tokens expanded (ssh_config(5)
 * TOKENS for LocalCommand: %C %d %h %i %k %L %l %n %p %r %T %u), run with `$SHELL -c` (/bin/sh when SHELL is
 * unset), with our stdin, stdout and stderr, and waited for before the session goes on. Its exit status does
 * not matter to ssh.
 */
import { defaultClientTokens, expandString, type ResolvedSshConfig } from '../config/ssh/index.ts';

/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');

export interface LocalCommandContext {
  log: (level: number, message: string) => void;
  debug: ((message: string) => void) | undefined;
}

/** The LocalCommand with its tokens expanded; %T is the tunnel interface, "NONE" without -w. */
export function expandLocalCommand(config: ResolvedSshConfig, tunnelInterface?: string): string {
  return expandString(config.localCommand ?? '', {
    tokens: { ...defaultClientTokens(config.connection), T: tunnelInterface ?? 'NONE' },
  });
}

/** Runs LocalCommand and resolves with its exit status (1 when it could not run or was killed). */
export function runLocalCommand(config: ResolvedSshConfig, context: LocalCommandContext): Promise<number> {
  const command = expandLocalCommand(config);
  if (command === '') return Promise.resolve(1);
  const shell = process.env.SHELL || '/bin/sh';
  context.debug?.(`Executing ${shell} -c "${command}"`);
  return new Promise((resolve) => {
    const child = childProcess().spawn(shell, ['-c', command], { stdio: 'inherit' });
    child.once('error', (error) => {
      context.log(2, `Couldn't execute ${shell} -c "${command}": ${error.message}`);
      resolve(1);
    });
    child.once('close', (code) => resolve(code ?? 1));
  });
}
