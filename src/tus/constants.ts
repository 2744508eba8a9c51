/** The tus protocol version tusgate speaks, in `Tus-Resumable` and `Tus-Version`. */
export const TUS_VERSION = '1.0.0';

/** Media type of every body that carries upload bytes (PATCH, creation-with-upload). */
export const OFFSET_OCTET_STREAM = 'application/offset+octet-stream';

/** Extensions the native backend implements, as its OPTIONS answer lists them. */
export const NATIVE_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'expiration',
  'checksum',
  'checksum-trailer',
  'concatenation',
  'concatenation-unfinished',
] as const;

/** Methods tusgate serves; anything else is a 405. */
export const TUS_METHODS = ['OPTIONS', 'POST', 'HEAD', 'PATCH', 'DELETE', 'GET'] as const;
export type TusMethod = (typeof TUS_METHODS)[number];

/** Methods whose requests never carry a body to a tus server. */
export const BODILESS_METHODS: ReadonlySet<string> = new Set(['HEAD', 'GET', 'DELETE', 'OPTIONS']);

/** The tus request headers, lower-case as Node gives them. Only `src/tus/` reads these. */
export const TUS_REQUEST_HEADERS = [
  'tus-resumable',
  'upload-length',
  'upload-offset',
  'upload-defer-length',
  'upload-metadata',
  'upload-checksum',
  'upload-concat',
] as const;
