import type { IncomingHttpHeaders } from 'node:http';
import { parseNonNegativeInteger } from './headers/integer.ts';
import { singleResponseValue } from './headers/single-value.ts';

/** The tus headers of a backend's answer that the gateway acts on. */
export interface TusResponse {
  /** Upload-Offset when it is a valid non-negative integer. */
  readonly uploadOffset: number | undefined;
  /** Upload-Length when it is a valid non-negative integer (HEAD answers). */
  readonly uploadLength: number | undefined;
  /** Upload-Concat as sent (mapped to public URLs by its strict parser, or dropped). */
  readonly concat: string | undefined;
  /** Tus-Max-Size as sent. */
  readonly maxSize: string | undefined;
}

export function readTusResponse(headers: IncomingHttpHeaders): TusResponse {
  const offset = singleResponseValue(headers, 'upload-offset');
  const length = singleResponseValue(headers, 'upload-length');
  return {
    uploadOffset: offset === undefined ? undefined : parseNonNegativeInteger(offset),
    uploadLength: length === undefined ? undefined : parseNonNegativeInteger(length),
    concat: singleResponseValue(headers, 'upload-concat'),
    maxSize: singleResponseValue(headers, 'tus-max-size'),
  };
}
