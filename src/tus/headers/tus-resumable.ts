import { TusgateError } from '../../errors.ts';
import { TUS_VERSION } from '../constants.ts';

/** `Tus-Resumable`: required (and `1.0.0`) on every request except OPTIONS; else 412. */
export function checkTusResumable(value: string | undefined, method: string): void {
  if (method === 'OPTIONS') return;
  if (value !== TUS_VERSION) throw new TusgateError('TUSGATE_ERR_UNSUPPORTED_VERSION');
}
