import { randomBytes } from 'node:crypto';

/**
 * Native upload ids are UUIDv7 strings (RFC 9562): 48 bits of Unix milliseconds, then random
 * bits. The timestamp is the upload's creation time, so the store derives its date folder and its
 * expiry from the id alone — no index, no lookup.
 */
const uuidV7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isNativeUploadId(id: string): boolean {
  return uuidV7Pattern.test(id);
}

export function newUploadId(nowMs: number = Date.now()): string {
  const bytes = randomBytes(16);
  let ms = Math.floor(nowMs);
  for (let index = 5; index >= 0; index--) {
    bytes[index] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Creation time in Unix milliseconds; only meaningful for ids that pass `isNativeUploadId`. */
export function uploadIdTimestamp(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
