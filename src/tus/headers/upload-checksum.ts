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
