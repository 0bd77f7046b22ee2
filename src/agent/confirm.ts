
/** node:child_process loads when a command is run, not with every `tether ssh` (issue 17: start-up time). */
const childProcess = () => process.getBuiltinModule('node:child_process');
/**
 * Confirmation of each use of a key added with the "confirm" constraint. As ssh-agent does, we run the
 * SSH_ASKPASS program (default /usr/bin/ssh-askpass) with SSH_ASKPASS_PROMPT=confirm; the use is allowed
 * only when it exits 0 and prints nothing or "yes". No askpass program means no consent, so the signature
 * is refused.
 */

export const DEFAULT_ASKPASS = '/usr/bin/ssh-askpass';
/** A user who walks away must not leave the request hanging forever. */
const CONFIRM_TIMEOUT_MS = 120_000;

export type ConfirmFunction = (prompt: string) => Promise<boolean>;

export function askpassConfirm(env: NodeJS.ProcessEnv = process.env): ConfirmFunction {
  return (prompt) =>
    new Promise((resolve) => {
      const program = env.SSH_ASKPASS || DEFAULT_ASKPASS;
      let output = '';
      let settled = false;
      const settle = (allowed: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(allowed);
      };
      const child = childProcess().spawn(program, [prompt], {
        env: { ...env, SSH_ASKPASS_PROMPT: 'confirm' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(false);
      }, CONFIRM_TIMEOUT_MS);
      timer.unref();
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        if (output.length < 1024) output += text;
      });
      child.once('error', () => settle(false));
      child.once('close', (code) => {
        const answer = output.replace(/\r?\n$/, '');
        settle(code === 0 && (answer === '' || answer.toLowerCase() === 'yes'));
      });
    });
}
