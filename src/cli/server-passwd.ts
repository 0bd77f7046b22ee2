/** `tether server passwd USER`: sets USER's password in the embedded password file (scrypt hashes). */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setPassword } from '../auth/server-password-file.ts';
import { readSecret, PromptError } from './prompt.ts';

export async function passwdMain(argv: string[], path: string): Promise<number> {
  const user = argv[0];
  if (user === undefined || argv.length !== 1) {
    process.stderr.write('usage: tether server passwd user\n');
    return 1;
  }
  try {
    const first = await readSecret(`New password for ${user}: `);
    const second = await readSecret('Retype new password: ');
    if (first !== second) {
      process.stderr.write('Sorry, passwords do not match.\n');
      return 1;
    }
    if (first === '') {
      process.stderr.write('No password supplied; nothing changed.\n');
      return 1;
    }
    mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
    await setPassword(path, user, first);
    process.stdout.write(`Password for ${user} updated in ${path}\n`);
    return 0;
  } catch (error) {
    if (error instanceof PromptError) {
      process.stderr.write(`tether server passwd: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
