/**
 * `tether <command>`: dispatches to one thin module per command. Each returns the process exit status.
 */
import { exitNow, stdioFlushed } from './exit.ts';

const COMMANDS: Record<string, { summary: string; hidden?: true; load: () => Promise<(argv: string[]) => Promise<number>> }> = {
  ssh: { summary: 'log in and run commands (ssh)', load: async () => (await import('./ssh.ts')).sshMain },
  keygen: { summary: 'create and manage keys (ssh-keygen)', load: async () => (await import('./keygen.ts')).keygenMain },
  server: { summary: 'run the access gateway server (sshd)', load: async () => (await import('./server.ts')).serverMain },
  fingerprints: { summary: "print the server's host key fingerprints", load: async () => (await import('./fingerprints.ts')).fingerprintsMain },
  demo: { summary: 'run the gateway with its embedded default', load: async () => (await import('./demo.ts')).demoMain },
  agent: { summary: 'hold keys in memory for logins (ssh-agent)', load: async () => (await import('./agent.ts')).agentMain },
  add: { summary: 'add keys to the agent, list, lock (ssh-add)', load: async () => (await import('./add.ts')).addMain },
  sftp: { summary: 'transfer files interactively (sftp)', load: async () => (await import('./sftp.ts')).sftpMain },
  scp: { summary: 'copy files to and from hosts (scp)', load: async () => (await import('./scp.ts')).scpMain },
  'copy-id': { summary: 'install your public key on a server (ssh-copy-id)', load: async () => (await import('./copy-id.ts')).copyIdMain },
  'sftp-server': { summary: 'serve SFTP on stdin and stdout (sftp-server)', load: async () => (await import('./sftp-server.ts')).sftpServerMain },
  // Started by the server, as the user, to hold that user's persistent sessions (src/sessions/holder/).
  'session-holder': { summary: 'hold persistent sessions', hidden: true, load: async () => (await import('./session-holder.ts')).sessionHolderMain },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).filter(([, command]) => !command.hidden).map(([name, command]) => `  ${name.padEnd(13)} ${command.summary}`);
  return `usage: tether <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`tether: unknown command '${name}'\n${usage()}`);
    return 1;
  }
  return (await command.load())(rest);
}

/**
 * Runs `tether` as a program and exits with its status. Like ssh, it exits as soon as the command is done
 * rather than waiting for idle handles (stdin, agent sockets) to go away, once its output has left (a slow
 * pipe holds writes back, exit.ts). The exit cannot hang in Node's teardown (exit.ts).
 */
export function runAsProgram(argv: string[]): void {
  main(argv).then(
    (code) => stdioFlushed().then(() => exitNow(code)),
    (error: unknown) => {
      process.stderr.write(`tether: ${(error as Error)?.message ?? String(error)}\n`);
      return stdioFlushed().then(() => exitNow(255));
    },
  );
}
