/**
 * Upload ids as they may appear in a URL: letters, digits and `-_.~+` only (tusd uses hex and
 * `+`, native ids are UUIDs). Anything percent-encoded, a slash, a backslash, NUL or a dot-segment
 * is refused before it can become part of a path or an upstream URL.
 */
const idPattern = /^[A-Za-z0-9_~+-][A-Za-z0-9_.~+-]{0,199}$/;

export function isValidUploadId(id: string): boolean {
  return idPattern.test(id) && !id.includes('..');
}

export type UploadPath =
  | { kind: 'collection' }
  | { kind: 'upload'; id: string }
  | { kind: 'invalid' };

/** Splits the part of a request path after a route's public base (`/files/`). */
export function parseUploadPath(rest: string): UploadPath {
  if (rest === '') return { kind: 'collection' };
  return isValidUploadId(rest) ? { kind: 'upload', id: rest } : { kind: 'invalid' };
}
