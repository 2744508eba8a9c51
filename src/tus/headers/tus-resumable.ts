import { TusgateError } from '../../errors.ts';
import { TUS_VERSION } from '../constants.ts';

/**
 * `Tus-Resumable` must be `1.0.0` on every request except OPTIONS; else 412. A GET or HEAD that
 * sends none is served anyway, as tusd does: a browser following a download link sends no tus
 * headers. A missing header and a version tusgate does not speak are told apart.
 */
export function checkTusResumable(value: string | undefined, method: string): void {
  if (method === 'OPTIONS') return;
  if (value === undefined) {
    if (method === 'GET' || method === 'HEAD') return;
    throw new TusgateError('TUSGATE_ERR_MISSING_VERSION');
  }
  if (value !== TUS_VERSION) throw new TusgateError('TUSGATE_ERR_UNSUPPORTED_VERSION');
}
