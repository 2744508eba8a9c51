import { TusgateError } from '../../errors.ts';
import { isNativeUploadId } from './upload-id.ts';

export type UploadConcat =
  | { kind: 'none' }
  | { kind: 'partial' }
  | { kind: 'final'; ids: string[] };

/**
 * `Upload-Concat: partial` or `final;<url> <url> ...`. Final lists name uploads by URL, absolute
 * or path-only; each must be a native upload under this route's public base.
 */
export function parseUploadConcat(header: string | undefined, publicBase: string): UploadConcat {
  if (header === undefined) return { kind: 'none' };
  const value = header.trim();
  if (value === 'partial') return { kind: 'partial' };
  if (!value.startsWith('final;')) throw invalid('must be "partial" or "final;<urls>"');
  const urls = value.slice('final;'.length).trim().split(/ +/).filter(Boolean);
  if (urls.length === 0) throw invalid('a final upload names at least one partial upload');
  const ids = urls.map((url) => {
    let path = url;
    if (!url.startsWith('/')) {
      try {
        path = new URL(url).pathname;
      } catch {
        throw invalid('not a URL');
      }
    }
    const id = path.startsWith(publicBase) ? path.slice(publicBase.length) : '';
    if (!isNativeUploadId(id)) throw invalid('names an upload that is not on this backend');
    return id;
  });
  return { kind: 'final', ids };
}

export function formatFinalConcat(ids: readonly string[], publicBase: string): string {
  return `final;${ids.map((id) => publicBase + id).join(' ')}`;
}

function invalid(message: string): TusgateError {
  return new TusgateError('TUSGATE_ERR_INVALID_CONCAT', {
    message: `invalid Upload-Concat header: ${message}`,
  });
}
