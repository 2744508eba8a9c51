import { TusgateError } from '../../errors.ts';

/** `Upload-Defer-Length`: only `1` is defined; anything else is a 400 (as in tusd). */
export function parseUploadDeferLength(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value !== '1') {
    throw new TusgateError('TUSGATE_ERR_INVALID_LENGTH', {
      message: 'Upload-Defer-Length must be 1',
    });
  }
  return true;
}
