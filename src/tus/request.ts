import type { IncomingMessage } from 'node:http';
import { TusgateError } from '../errors.ts';
import { BODILESS_METHODS, OFFSET_OCTET_STREAM, TUS_METHODS, type TusMethod } from './constants.ts';
import { parseNonNegativeInteger } from './headers/integer.ts';
import { singleValue } from './headers/single-value.ts';
import {
  parseChecksumTrailerAnnounced,
  parseUploadChecksum,
  type UploadChecksum,
} from './headers/upload-checksum.ts';
import { noConcat, parseUploadConcat, type UploadConcat } from './headers/upload-concat.ts';
import { parseUploadDeferLength } from './headers/upload-defer-length.ts';
import { parseUploadLength } from './headers/upload-length.ts';
import { parseUploadMetadata, type UploadMetadata } from './headers/upload-metadata.ts';
import { parseUploadOffset } from './headers/upload-offset.ts';
import type { UploadUrlBase } from './upload-url.ts';

/**
 * One request as tus sees it, parsed once at the pipeline's entry. Every later stage (auth,
 * placement, hooks, the proxy, the native handlers) reads this and never the raw headers, so
 * what was checked is what is served or forwarded.
 */
export interface TusRequest {
  /** The method the request is served as (after `X-HTTP-Method-Override`). */
  readonly method: TusMethod;
  /** The method on the wire: Node frames the response by it, so it is never changed. */
  readonly wireMethod: string;
  /**
   * `Tus-Resumable` as sent (checked by `checkTusResumable`); several copies are kept joined, so
   * they read as a version tusgate does not speak rather than as none.
   */
  readonly version: string | undefined;
  readonly uploadLength: number | undefined;
  readonly deferLength: boolean;
  readonly uploadOffset: number | undefined;
  /** Undefined when the client sent no Upload-Metadata. */
  readonly metadata: UploadMetadata | undefined;
  readonly checksum: UploadChecksum | undefined;
  /**
   * The body's `Upload-Checksum` comes as a trailer (announced in `Trailer`, after a chunked
   * body): read it with `parseUploadChecksumTrailer` once the body has ended.
   */
  readonly checksumTrailer: boolean;
  readonly concat: UploadConcat;
  /** Content-Length of the request body; undefined when absent (chunked or no body). */
  readonly contentLength: number | undefined;
  /** The request has a body (a non-zero Content-Length, or chunked). */
  readonly hasBody: boolean;
  /** `Content-Type` is `application/offset+octet-stream` (parameters ignored). */
  readonly offsetBody: boolean;
  /**
   * The first header the request got wrong, thrown only after authentication (see the pipeline's
   * order): an anonymous client learns nothing from a 400 it could not have earned otherwise.
   */
  readonly problem: TusgateError | undefined;
}

/** Resolves the effective method: `X-HTTP-Method-Override` on a POST, as tusd does. */
export function effectiveMethod(req: IncomingMessage): string {
  const wire = req.method ?? 'GET';
  const override = req.headers['x-http-method-override'];
  if (wire === 'POST' && typeof override === 'string' && override !== '') {
    return override.toUpperCase();
  }
  return wire;
}

export function isTusMethod(method: string): method is TusMethod {
  return (TUS_METHODS as readonly string[]).includes(method);
}

/**
 * Parses every tus header of `req`. `concatBase` is the public side of the route: a final
 * Upload-Concat may only name that route's upload URLs. Never throws: a malformed header is kept
 * as `problem` (the first one found) and its field is left empty.
 */
export function parseTusRequest(
  req: IncomingMessage,
  method: TusMethod,
  concatBase: UploadUrlBase,
): TusRequest {
  let problem: TusgateError | undefined;
  const read = <T>(parse: () => T, fallback: T): T => {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof TusgateError)) throw error;
      problem ??= error;
      return fallback;
    }
  };
  const header = (name: string) => read(() => singleValue(req, name), undefined);

  const contentLength = read(() => parseContentLength(req), undefined);
  const hasBody = req.headers['transfer-encoding'] !== undefined || (contentLength ?? 0) > 0;
  const contentType = read(() => singleValue(req, 'content-type'), undefined);
  const offsetBody = mediaType(contentType) === OFFSET_OCTET_STREAM;
  const parsed = {
    method,
    wireMethod: req.method ?? 'GET',
    version: req.headersDistinct['tus-resumable']?.join(', '),
    uploadLength: read(() => parseUploadLength(header('upload-length')), undefined),
    deferLength: read(() => parseUploadDeferLength(header('upload-defer-length')), false),
    uploadOffset: read(() => parseUploadOffset(header('upload-offset')), undefined),
    metadata: read(() => parseUploadMetadata(header('upload-metadata')), undefined),
    checksum: read(() => parseUploadChecksum(header('upload-checksum')), undefined),
    checksumTrailer: read(
      () =>
        parseChecksumTrailerAnnounced(
          header('trailer'),
          req.headers['transfer-encoding'] !== undefined,
          header('upload-checksum'),
        ),
      false,
    ),
    concat: read(() => parseUploadConcat(header('upload-concat'), concatBase), noConcat),
    contentLength,
    hasBody,
    offsetBody,
  };
  read(() => checkBody(parsed), undefined);
  return { ...parsed, problem };
}

/**
 * Bytes travel only as `application/offset+octet-stream` (415 otherwise): a PATCH always, and a
 * creation that carries a body (creation-with-upload).
 */
function checkBody(request: { method: string; hasBody: boolean; offsetBody: boolean }): void {
  const needsOffsetBody =
    request.method === 'PATCH' || (request.method === 'POST' && request.hasBody);
  if (needsOffsetBody && !request.offsetBody) {
    throw new TusgateError('TUSGATE_ERR_INVALID_CONTENT_TYPE');
  }
}

function parseContentLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined) return undefined;
  const length = parseNonNegativeInteger(value);
  if (length === undefined) throw new TusgateError('TUSGATE_ERR_INVALID_HEADER');
  return length;
}

function mediaType(value: string | undefined): string | undefined {
  return value?.split(';')[0]?.trim().toLowerCase();
}

/** True for methods whose request never carries a body upstream. */
export function isBodiless(method: string): boolean {
  return BODILESS_METHODS.has(method);
}
