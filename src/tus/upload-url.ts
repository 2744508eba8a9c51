/**
 * Upload ids as they may appear in a URL: letters, digits and `-_.~+` only (tusd uses hex and
 * `+`, native ids are UUIDs). Anything percent-encoded, a slash, a backslash, NUL, a query, a
 * fragment or a dot-segment is refused before it can become part of a path or an upstream URL.
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

/** Where upload URLs of one side live: `http://host:port` and `/files/` (with trailing slash). */
export interface UploadUrlBase {
  /** Origins an absolute URL may name, e.g. `https://galaxy.example` (compared case-insensitively). */
  readonly origins: readonly string[];
  readonly basePath: string;
}

/**
 * The id an upload URL names: `<basePath><id>` or `<origin><basePath><id>` exactly, with one of
 * the base's origins. No query, fragment, dot segment, percent-encoding, other host or scheme:
 * anything that two URL parsers could read differently is undefined.
 */
export function parseUploadUrl(text: string, base: UploadUrlBase): string | undefined {
  let path = text;
  if (!text.startsWith('/')) {
    const origin = base.origins.find(
      (candidate) => text.slice(0, candidate.length).toLowerCase() === candidate.toLowerCase(),
    );
    if (origin === undefined) return undefined;
    path = text.slice(origin.length);
  }
  if (!path.startsWith(base.basePath)) return undefined;
  const id = path.slice(base.basePath.length);
  return isValidUploadId(id) ? id : undefined;
}

export function formatUploadUrl(id: string, origin: string, basePath: string): string {
  return `${origin}${basePath}${id}`;
}
