/**
 * SFTP v3's numbers and names (draft-ietf-secsh-filexfer-02, OpenSSH's PROTOCOL §4): packet types, status codes,
 * flags, extension names and versions, limits, and the status error both roles raise.
 */

export const SFTP_VERSION = 3;

/** Packet types, draft-02 §3. */
export const SSH_FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** Status codes, draft-02 §7. */
export const SSH_FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** ATTRS flags, draft-02 §5. */
export const SSH_FILEXFER_ATTR = {
  SIZE: 0x00000001,
  UIDGID: 0x00000002,
  PERMISSIONS: 0x00000004,
  ACMODTIME: 0x00000008,
  EXTENDED: 0x80000000,
} as const;

/** SSH_FXP_OPEN pflags, draft-02 §6.3. */
export const SSH_FXF = {
  READ: 0x00000001,
  WRITE: 0x00000002,
  APPEND: 0x00000004,
  CREAT: 0x00000008,
  TRUNC: 0x00000010,
  EXCL: 0x00000020,
} as const;

/** statvfs@openssh.com f_flag bits, PROTOCOL §4.4. */
export const SSH_FXE_STATVFS = {
  ST_RDONLY: 0x1,
  ST_NOSUID: 0x2,
} as const;

/** Extension names (PROTOCOL §4.3–4.12) and the versions OpenSSH 9.2's sftp-server announces, in its order. */
export const SFTP_EXTENSION = {
  POSIX_RENAME: 'posix-rename@openssh.com',
  STATVFS: 'statvfs@openssh.com',
  FSTATVFS: 'fstatvfs@openssh.com',
  HARDLINK: 'hardlink@openssh.com',
  FSYNC: 'fsync@openssh.com',
  LSETSTAT: 'lsetstat@openssh.com',
  LIMITS: 'limits@openssh.com',
  EXPAND_PATH: 'expand-path@openssh.com',
  COPY_DATA: 'copy-data',
  HOME_DIRECTORY: 'home-directory',
  USERS_GROUPS_BY_ID: 'users-groups-by-id@openssh.com',
} as const;

export const OPENSSH_EXTENSIONS: readonly SftpExtensionAnnouncement[] = [
  { name: SFTP_EXTENSION.POSIX_RENAME, data: '1' },
  { name: SFTP_EXTENSION.STATVFS, data: '2' },
  { name: SFTP_EXTENSION.FSTATVFS, data: '2' },
  { name: SFTP_EXTENSION.HARDLINK, data: '1' },
  { name: SFTP_EXTENSION.FSYNC, data: '1' },
  { name: SFTP_EXTENSION.LSETSTAT, data: '1' },
  { name: SFTP_EXTENSION.LIMITS, data: '1' },
  { name: SFTP_EXTENSION.EXPAND_PATH, data: '1' },
  { name: SFTP_EXTENSION.COPY_DATA, data: '1' },
  { name: SFTP_EXTENSION.HOME_DIRECTORY, data: '1' },
  { name: SFTP_EXTENSION.USERS_GROUPS_BY_ID, data: '1' },
];

/** OpenSSH's SFTP_MAX_MSG_LENGTH: the largest packet (length field value) either side accepts. */
export const SFTP_MAX_PACKET_LENGTH = 256 * 1024;
/** Largest READ answered in full and largest WRITE accepted (OpenSSH: packet limit less 1024). */
export const SFTP_MAX_READ_LENGTH = SFTP_MAX_PACKET_LENGTH - 1024;
export const SFTP_MAX_WRITE_LENGTH = SFTP_MAX_PACKET_LENGTH - 1024;
/** draft-02 §3.1: "The handle strings MUST NOT be longer than 256 bytes." */
export const SFTP_MAX_HANDLE_LENGTH = 256;
/** Paths are capped well below the packet limit; PATH_MAX is 4096 on Linux. */
export const SFTP_MAX_PATH_LENGTH = 64 * 1024;

/** fx2txt() of OpenSSH's sftp-common.c: the message text for each status. */
export function statusMessage(code: number): string {
  switch (code) {
    case SSH_FX.OK: return 'No error';
    case SSH_FX.EOF: return 'End of file';
    case SSH_FX.NO_SUCH_FILE: return 'No such file or directory';
    case SSH_FX.PERMISSION_DENIED: return 'Permission denied';
    case SSH_FX.FAILURE: return 'Failure';
    case SSH_FX.BAD_MESSAGE: return 'Bad message';
    case SSH_FX.NO_CONNECTION: return 'No connection';
    case SSH_FX.CONNECTION_LOST: return 'Connection lost';
    case SSH_FX.OP_UNSUPPORTED: return 'Operation unsupported';
    default: return 'Unknown status';
  }
}

/** A request answered with an SSH_FXP_STATUS other than OK (or EOF where data was expected). */
export class SftpStatusError extends Error {
  override readonly name = 'SftpStatusError';
  readonly code: number;
  constructor(code: number, message = statusMessage(code)) {
    super(message);
    this.code = code;
  }
}

export interface SftpExtensionAnnouncement {
  name: string;
  /** The extension's version as ASCII text, e.g. "1". */
  data: string;
}
