import type { IncomingMessage } from 'node:http';
import { TusgateError } from '../../errors.ts';

/** `Upload-Checksum: <algorithm> <base64 digest>` as sent; which algorithms a backend knows is its concern. */
export interface UploadChecksum {
  readonly algorithm: string;
  readonly digest: Buffer;
  /** The header as it was, for forwarding. */
  readonly encoded: string;
}

const pattern =
  /^([a-z0-9-]{1,32}) ((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/;

export function parseUploadChecksum(value: string | undefined): UploadChecksum | undefined {
  if (value === undefined) return undefined;
  const match = pattern.exec(value);
  if (!match || match[2] === '') throw new TusgateError('TUSGATE_ERR_INVALID_CHECKSUM');
  const [, algorithm = '', encoded = ''] = match;
  return { algorithm, digest: Buffer.from(encoded, 'base64'), encoded: value };
}

export function formatUploadChecksum(checksum: UploadChecksum): string {
  return `${checksum.algorithm} ${checksum.digest.toString('base64')}`;
}

/**
 * Whether the client announces `Upload-Checksum` as a trailer (`Trailer: Upload-Checksum`, the
 * checksum extension's form for a digest known only at the end). Trailers come only after a
 * chunked body, and one checksum is one: a header and a trailer together are refused (400).
 */
export function parseChecksumTrailerAnnounced(
  trailer: string | undefined,
  chunked: boolean,
  header: string | undefined,
): boolean {
  if (trailer === undefined) return false;
  const names = trailer.split(',').map((name) => name.trim().toLowerCase());
  if (!names.includes('upload-checksum')) return false;
  if (!chunked) {
    throw new TusgateError('TUSGATE_ERR_INVALID_CHECKSUM', {
      message: 'an Upload-Checksum trailer needs a chunked body',
    });
  }
  if (header !== undefined) {
    throw new TusgateError('TUSGATE_ERR_INVALID_CHECKSUM', {
      message: 'Upload-Checksum is sent both as a header and as a trailer',
    });
  }
  return true;
}

/**
 * The `Upload-Checksum` trailer of a request whose body has been read to its end, parsed as
 * strictly as the header (sent twice: 400). Undefined when there is none.
 */
export function parseUploadChecksumTrailer(req: IncomingMessage): UploadChecksum | undefined {
  const values = req.trailersDistinct['upload-checksum'];
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) {
    throw new TusgateError('TUSGATE_ERR_INVALID_CHECKSUM', {
      message: 'the Upload-Checksum trailer is sent more than once',
    });
  }
  return parseUploadChecksum(values[0]);
}
