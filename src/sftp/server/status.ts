/**
 * What a failed file operation tells the client: errno mapped as sftp-server's errno_to_portable() maps it,
 * with the message texts sftp-server itself sends (status_to_message(), which differ from the client's).
 */
import { SSH_FX, SftpStatusError } from '../protocol.ts';

/** status_to_message() of OpenSSH's sftp-server.c. */
const SERVER_MESSAGES = [
  'Success',
  'End of file',
  'No such file',
  'Permission denied',
  'Failure',
  'Bad message',
  'No connection',
  'Connection lost',
  'Operation unsupported',
];

export function serverStatusMessage(code: number): string {
  return SERVER_MESSAGES[code] ?? 'Unknown error';
}

/** errno_to_portable(): the status for a Node error code (ENOENT, EACCES…). */
export function statusForErrno(code: string | undefined): number {
  switch (code) {
    case undefined:
      return SSH_FX.FAILURE;
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EBADF':
    case 'ELOOP':
      return SSH_FX.NO_SUCH_FILE;
    case 'EPERM':
    case 'EACCES':
    case 'EFAULT':
      return SSH_FX.PERMISSION_DENIED;
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return SSH_FX.BAD_MESSAGE;
    case 'ENOSYS':
      return SSH_FX.OP_UNSUPPORTED;
    default:
      return SSH_FX.FAILURE;
  }
}

/** A request refused with a given status and no errno (unknown handle, read-only mode, escape attempt). */
export function refuse(code: number, message?: string): SftpStatusError {
  return new SftpStatusError(code, message ?? serverStatusMessage(code));
}

/** The status for anything a handler threw: an SftpStatusError's own, an errno's, else FAILURE. */
export function statusForError(error: unknown): { code: number; message: string } {
  if (error instanceof SftpStatusError) return { code: error.code, message: error.message };
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  // Node refuses paths with NUL bytes before any system call: the kernel would never see such a name.
  const code = errno === 'ERR_INVALID_ARG_VALUE' || errno === 'ERR_INVALID_ARG_TYPE' ? SSH_FX.BAD_MESSAGE : statusForErrno(errno);
  return { code, message: serverStatusMessage(code) };
}
