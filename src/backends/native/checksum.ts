import { createHash, type Hash } from 'node:crypto';
import { TusgateError } from '../../errors.ts';

export const checksumAlgorithms = ['md5', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof checksumAlgorithms)[number];

export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  digest: Buffer;
  hash: Hash;
}

/** `Upload-Checksum: <algorithm> <base64 digest>`; undefined when the header is absent. */
export function parseUploadChecksum(header: string | undefined): ExpectedChecksum | undefined {
  if (header === undefined) return undefined;
  const [algorithm, encoded, ...rest] = header.trim().split(' ');
  if (!algorithm || !encoded || rest.length > 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new TusgateError('TUSGATE_ERR_INVALID_HEADER', {
      message: 'Upload-Checksum must be "<algorithm> <base64 digest>"',
    });
  }
  if (!(checksumAlgorithms as readonly string[]).includes(algorithm)) {
    throw new TusgateError('TUSGATE_ERR_UNSUPPORTED_CHECKSUM');
  }
  return {
    algorithm: algorithm as ChecksumAlgorithm,
    digest: Buffer.from(encoded, 'base64'),
    hash: createHash(algorithm),
  };
}

export function checksumMatches(expected: ExpectedChecksum): boolean {
  return expected.hash.digest().equals(expected.digest);
}
