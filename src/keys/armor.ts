/** PEM-style armour ("-----BEGIN X-----" … "-----END X-----") around base64, as OpenSSH and OpenSSL write it. */
import { KeyFormatError } from './types.ts';

export function armorLabel(text: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
}

/** The base64 body between the BEGIN and END lines of `label`, decoded. Header lines are not allowed. */
export function unarmor(text: string, label: string): Buffer {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const start = text.indexOf(begin);
  const stop = text.indexOf(end, start + begin.length);
  if (start < 0 || stop < 0) throw new KeyFormatError('invalid format');
  const body = text.slice(start + begin.length, stop).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw new KeyFormatError('invalid format');
  return Buffer.from(body, 'base64');
}

/** Wraps `data` in armour with base64 lines of `width` characters (OpenSSH uses 70). */
export function armor(data: Buffer, label: string, width: number): string {
  const base64 = data.toString('base64');
  const lines = [`-----BEGIN ${label}-----`];
  for (let i = 0; i < base64.length; i += width) lines.push(base64.slice(i, i + width));
  lines.push(`-----END ${label}-----`, '');
  return lines.join('\n');
}
