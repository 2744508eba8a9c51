import { createHash, type Hash } from 'node:crypto';
import { TusgateError } from '../../errors.ts';
import type { UploadChecksum } from '../../tus/headers/upload-checksum.ts';

export const checksumAlgorithms = ['md5', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof checksumAlgorithms)[number];

export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  digest: Buffer;
  hash: Hash;
}

/** A parsed `Upload-Checksum` ready to hash a body; undefined when the client sent none. */
export function expectedChecksum(
  checksum: UploadChecksum | undefined,
): ExpectedChecksum | undefined {
  if (checksum === undefined) return undefined;
  const { algorithm } = checksum;
  if (!(checksumAlgorithms as readonly string[]).includes(algorithm)) {
    throw new TusgateError('TUSGATE_ERR_UNSUPPORTED_CHECKSUM');
  }
  return {
    algorithm: algorithm as ChecksumAlgorithm,
    digest: checksum.digest,
    hash: createHash(algorithm),
  };
}

export function checksumMatches(expected: ExpectedChecksum): boolean {
  return expected.hash.digest().equals(expected.digest);
}
