import { TusgateError } from '../../errors.ts';
import { isNativeUploadId } from './upload-id.ts';

/**
 * The partial uploads a final upload names (parsed in `src/tus/headers/upload-concat.ts`) must be
 * uploads this backend can hold: native ids. The rest is the store's business.
 */
export function requireNativePartials(ids: readonly string[]): string[] {
  if (ids.length === 0) throw invalid('a final upload names at least one partial upload');
  for (const id of ids) {
    if (!isNativeUploadId(id)) throw invalid('names an upload that is not on this backend');
  }
  return [...ids];
}

function invalid(message: string): TusgateError {
  return new TusgateError('TUSGATE_ERR_INVALID_CONCAT', {
    message: `invalid Upload-Concat header: ${message}`,
  });
}
