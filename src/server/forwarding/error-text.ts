/**
 * The words sshd puts in a CHANNEL_OPEN_FAILURE description when a connection fails: strerror(errno) for
 * connect errors and gai_strerror() for name lookups, so that `ssh` prints the same
 * "channel 2: open failed: connect failed: Connection refused" whichever server it talks to.
 */

const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  ENOTSOCK: 'Socket operation on non-socket',
  ECONNRESET: 'Connection reset by peer',
  ENAMETOOLONG: 'File name too long',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  // getaddrinfo failures (glibc's gai_strerror wording).
  ENOTFOUND: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EAI_FAIL: 'Non-recoverable failure in name resolution',
  ENODATA: 'No address associated with hostname',
};

/** The C library's message for a Node system error, falling back to the error's own message. */
export function systemErrorText(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && STRERROR[code]) || error.message;
}
