import { TusgateError } from '../../errors.ts';
import { parseUploadUrl, type UploadUrlBase } from '../upload-url.ts';

export type UploadConcat =
  | { readonly kind: 'none' }
  | { readonly kind: 'partial' }
  | { readonly kind: 'final'; readonly ids: readonly string[] };

export const noConcat: UploadConcat = { kind: 'none' };

/**
 * `Upload-Concat`: exactly `partial`, or `final;` followed by upload URLs of `base` separated by
 * single spaces (as tusd splits them). Each URL must be a plain upload URL (see parseUploadUrl):
 * the ids checked for ownership are the ids the backend is sent, nothing else can slip through.
 */
export function parseUploadConcat(value: string | undefined, base: UploadUrlBase): UploadConcat {
  if (value === undefined) return noConcat;
  if (value === 'partial') return { kind: 'partial' };
  if (!value.startsWith('final;')) throw invalid('must be "partial" or "final;<urls>"');
  const urls = value.slice('final;'.length).split(' ');
  const ids = urls.map((url) => {
    const id = parseUploadUrl(url, base);
    if (id === undefined) throw invalid('names something that is not an upload URL of this route');
    return id;
  });
  return { kind: 'final', ids };
}

/** `partial`, or `final;` with each id written by `urlOf`; undefined for `none`. */
export function formatUploadConcat(
  concat: UploadConcat,
  urlOf: (id: string) => string,
): string | undefined {
  if (concat.kind === 'none') return undefined;
  if (concat.kind === 'partial') return 'partial';
  return `final;${concat.ids.map(urlOf).join(' ')}`;
}

function invalid(message: string): TusgateError {
  return new TusgateError('TUSGATE_ERR_INVALID_CONCAT', {
    message: `invalid Upload-Concat header: ${message}`,
  });
}
