import type { IncomingMessage } from 'node:http';
import { TusgateError } from '../../errors.ts';
import { checksumAlgorithms } from './checksum.ts';

export const tusExtensions = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'expiration',
  'checksum',
  'concatenation',
  'concatenation-unfinished',
].join(',');

export const checksumAlgorithmHeader = checksumAlgorithms.join(',');
export const offsetOctetStream = 'application/offset+octet-stream';

/** A non-negative decimal integer without sign, spaces or leading garbage. */
function parseNonNegative(value: string): number | null {
  if (!/^\d{1,16}$/.test(value)) return null;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : null;
}

export function parseUploadLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const length = parseNonNegative(value);
  if (length === null) throw new TusgateError('TUSGATE_ERR_INVALID_LENGTH');
  return length;
}

export function parseUploadOffset(value: string | undefined): number {
  const offset = value === undefined ? null : parseNonNegative(value);
  if (offset === null) throw new TusgateError('TUSGATE_ERR_INVALID_OFFSET');
  return offset;
}

export function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function hasOffsetBody(req: IncomingMessage): boolean {
  const type = singleHeader(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  return type === offsetOctetStream;
}

/** Content-Length when the client sent one, else undefined (chunked). */
export function contentLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined) return undefined;
  const length = parseNonNegative(value);
  if (length === null) throw new TusgateError('TUSGATE_ERR_INVALID_HEADER');
  return length;
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
