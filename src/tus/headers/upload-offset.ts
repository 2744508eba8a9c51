import { TusgateError } from '../../errors.ts';
import { parseNonNegativeInteger } from './integer.ts';

/** `Upload-Offset`: a non-negative decimal integer; undefined when absent (PATCH requires it). */
export function parseUploadOffset(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const offset = parseNonNegativeInteger(value);
  if (offset === undefined) throw new TusgateError('TUSGATE_ERR_INVALID_OFFSET');
  return offset;
}

export function formatUploadOffset(offset: number): string {
  return String(offset);
}
