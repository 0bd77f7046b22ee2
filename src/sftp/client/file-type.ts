/**
 * The file type of SFTP attributes: OpenSSH sends st_mode whole in the permissions field (draft-02 §5
 * leaves the type bits unspecified), so S_IFMT applies as it does to a local stat.
 */
import type { SftpAttributes } from '../protocol.ts';

export const FILE_TYPE = { mask: 0o170000, directory: 0o040000, regular: 0o100000, symlink: 0o120000 } as const;

export function isDirectory(attrs: SftpAttributes): boolean {
  return attrs.permissions !== undefined && (attrs.permissions & FILE_TYPE.mask) === FILE_TYPE.directory;
}

export function isRegularFile(attrs: SftpAttributes): boolean {
  return attrs.permissions !== undefined && (attrs.permissions & FILE_TYPE.mask) === FILE_TYPE.regular;
}

export function isSymlink(attrs: SftpAttributes): boolean {
  return attrs.permissions !== undefined && (attrs.permissions & FILE_TYPE.mask) === FILE_TYPE.symlink;
}
