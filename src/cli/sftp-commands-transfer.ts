/**
 * sftp's get/reget and put/reput (sftp.c process_get, process_put): the source is globbed, several matches
 * need a directory as destination, each match is announced ("Fetching X to Y") and copied, a directory
 * only with -R. Failures are printed and make the command fail; the other matches are still copied.
 */
import {
  downloadTree, fastGet, fastPut, GlobTooManyError, TransferError, TransferInterruptedError, uploadTree, type TransferOptions,
} from '../sftp/client/index.ts';
import {
  baseName, localGlob, localIsDirectory, makeAbsolute, makeAbsoluteGlob, pathAppend, progressFor, remoteGlob, remoteIsDirectory,
  type ShellContext,
} from './sftp-commands-context.ts';
import { stat } from 'node:fs/promises';
import { localErrorText } from '../sftp/client/local-errors.ts';

export interface TransferFlags {
  preserve: boolean;
  recursive: boolean;
  resume: boolean;
  fsync: boolean;
}

/** Reports what a transfer said; "stat remote" is quiet in batch mode (sftp-client.c get_decode_stat). */
function reportTransferError(context: ShellContext, error: unknown): void {
  if (!(error instanceof TransferError)) throw error;
  if (error instanceof TransferInterruptedError || error.message === '') return;
  context.error(error.message);
}

function transferOptions(context: ShellContext, flags: TransferFlags): TransferOptions {
  return {
    resume: flags.resume || context.global.resume,
    preserve: flags.preserve || context.global.preserve,
    fsync: flags.fsync || context.global.fsync,
    limitBytesPerSecond: context.limitBytesPerSecond,
    signal: context.signal,
    report: (level, message) => (level === 'error' ? context.error(message) : context.info(message)),
  };
}

function treeReport(context: ShellContext) {
  return (level: 'error' | 'info' | 'print', message: string) => {
    if (level === 'print') context.print(`${message}\n`);
    else if (level === 'error') context.error(message);
    else context.info(message);
  };
}

/** process_get. Returns 0 or -1. */
export async function processGet(context: ShellContext, source: string, destination: string | undefined, pwd: string, flags: TransferFlags): Promise<number> {
  const pattern = makeAbsoluteGlob(source, pwd);
  let matches;
  try {
    const result = await remoteGlob(context, pattern, { mark: true });
    if (result.matched === 0) {
      context.error(`File "${pattern}" not found.`);
      return -1;
    }
    matches = result;
  } catch (error) {
    if (!(error instanceof GlobTooManyError)) throw error;
    context.error(`Too many matches for "${pattern}".`);
    return -1;
  }
  const destinationIsDirectory = destination !== undefined && (await localIsDirectory(destination));
  if (matches.matched > 1 && destination !== undefined && !destinationIsDirectory) {
    context.error(`Multiple source paths, but destination "${destination}" is not a directory`);
    return -1;
  }
  let status = 0;
  for (const match of matches.matches) {
    if (context.signal?.aborted) break;
    const name = baseName(match.path);
    const target = destination === undefined ? name : destinationIsDirectory ? pathAppend(destination, name) : destination;
    const options = transferOptions(context, flags);
    if (!context.quiet) context.print(`${options.resume ? 'Resuming' : 'Fetching'} ${match.path} to ${target}\n`);
    try {
      if (match.path.endsWith('/') && (flags.recursive || context.global.recursive)) {
        const ok = await downloadTree(context.sftp, match.path, target, { ...options, report: treeReport(context), print: true, progressFor: (path) => progressFor(context, path) });
        if (!ok) status = -1;
      } else {
        await fastGet(context.sftp, match.path, target, { ...options, progress: progressFor(context, match.path) });
      }
    } catch (error) {
      reportTransferError(context, error);
      status = -1;
    }
  }
  return status;
}

/** process_put. Returns 0 or -1. */
export async function processPut(context: ShellContext, source: string, destination: string | undefined, pwd: string, flags: TransferFlags): Promise<number> {
  const target = destination === undefined ? undefined : makeAbsolute(destination, pwd);
  let matches;
  try {
    matches = await localGlob(source, { mark: true, noCheck: true });
  } catch (error) {
    if (!(error instanceof GlobTooManyError)) throw error;
    context.error(`File "${source}" not found.`);
    return -1;
  }
  const targetIsDirectory = target === undefined ? true : await remoteIsDirectory(context.sftp, target);
  if (matches.matched > 1 && target !== undefined && !targetIsDirectory) {
    context.error(`Multiple paths match, but destination "${target}" is not a directory`);
    return -1;
  }
  let status = 0;
  for (const match of matches.matches) {
    if (context.signal?.aborted) break;
    try {
      await stat(match.path);
    } catch (error) {
      context.error(`stat ${match.path}: ${localErrorText(error)}`);
      status = -1;
      continue;
    }
    const name = baseName(match.path);
    const remote = target === undefined
      ? makeAbsolute(name, pwd)
      : matches.matched === 1 && !targetIsDirectory ? target : pathAppend(target, name);
    const options = transferOptions(context, flags);
    if (!context.quiet) context.print(`${options.resume ? 'Resuming upload of' : 'Uploading'} ${match.path} to ${remote}\n`);
    try {
      if (match.path.endsWith('/') && (flags.recursive || context.global.recursive)) {
        const ok = await uploadTree(context.sftp, match.path, remote, { ...options, report: treeReport(context), print: true, progressFor: (path) => progressFor(context, path) });
        if (!ok) status = -1;
      } else {
        await fastPut(context.sftp, match.path, remote, { ...options, progress: progressFor(context, match.path) });
      }
    } catch (error) {
      reportTransferError(context, error);
      status = -1;
    }
  }
  return status;
}
