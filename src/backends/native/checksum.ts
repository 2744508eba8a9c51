import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TusgateError } from '../../errors.ts';
import {
  parseUploadChecksumTrailer,
  type UploadChecksum,
} from '../../tus/headers/upload-checksum.ts';
import type { TusRequest } from '../../tus/request.ts';

export const checksumAlgorithms = ['md5', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof checksumAlgorithms)[number];

/**
 * The checksum a body must match: `Upload-Checksum` as a header (its algorithm known before the
 * body), or as an announced trailer (known only after it, so the body is hashed with every
 * algorithm tusgate supports).
 */
export interface BodyChecksum {
  update(chunk: Buffer): void;
  /**
   * After the whole body was read: throws 460 on a mismatch, 400 for a trailer that is missing,
   * malformed or names an algorithm tusgate does not support.
   */
  verify(req: IncomingMessage): void;
}

/** The checksum of this request's body; undefined when the client sent none. */
export function bodyChecksum(
  tus: Pick<TusRequest, 'checksum' | 'checksumTrailer'>,
): BodyChecksum | undefined {
  if (tus.checksum !== undefined) {
    const expected = tus.checksum;
    const hash = createHash(supported(expected));
    return {
      update: (chunk) => hash.update(chunk),
      verify: () => compare(hash, expected),
    };
  }
  if (!tus.checksumTrailer) return undefined;
  const hashes = new Map(
    checksumAlgorithms.map((algorithm) => [algorithm, createHash(algorithm)] as const),
  );
  return {
    update: (chunk) => {
      for (const hash of hashes.values()) hash.update(chunk);
    },
    verify: (req) => {
      const expected = parseUploadChecksumTrailer(req);
      if (expected === undefined) {
        throw new TusgateError('TUSGATE_ERR_INVALID_CHECKSUM', {
          message: 'the announced Upload-Checksum trailer did not come',
        });
      }
      compare(hashes.get(supported(expected))!, expected);
    },
  };
}

/**
 * A trailer nobody announced cannot be checked (its body was not hashed): refused, so that a
 * checksum the client believes was verified never silently was not.
 */
export function refuseUnannouncedTrailer(req: IncomingMessage): void {
  if (parseUploadChecksumTrailer(req) === undefined) return;
  throw new TusgateError('TUSGATE_ERR_INVALID_CHECKSUM', {
    message: 'an Upload-Checksum trailer must be announced in the Trailer header',
  });
}

function supported(checksum: UploadChecksum): ChecksumAlgorithm {
  const { algorithm } = checksum;
  if (!(checksumAlgorithms as readonly string[]).includes(algorithm)) {
    throw new TusgateError('TUSGATE_ERR_UNSUPPORTED_CHECKSUM');
  }
  return algorithm as ChecksumAlgorithm;
}

function compare(hash: Hash, expected: UploadChecksum): void {
  if (!hash.digest().equals(expected.digest)) {
    throw new TusgateError('TUSGATE_ERR_CHECKSUM_MISMATCH');
  }
}
