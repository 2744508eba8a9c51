import { TusgateError } from '../../errors.ts';
import { parseNonNegativeInteger } from './integer.ts';

/**
 * `Upload-Length`: a non-negative decimal integer; undefined when absent. A well-formed length too
 * large to hold exactly (past 2^53 - 1 bytes) is an upload no route accepts: 413, not 400.
 */
export function parseUploadLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const length = parseNonNegativeInteger(value);
  if (length !== undefined) return length;
  if (/^[0-9]+$/.test(value)) throw new TusgateError('TUSGATE_ERR_SIZE_EXCEEDED');
  throw new TusgateError('TUSGATE_ERR_INVALID_LENGTH');
}

export function formatUploadLength(length: number): string {
  return String(length);
}
