import { randomUUID } from 'node:crypto';

/**
 * Native upload ids are UUIDv7 strings (RFC 9562): 48 bits of Unix milliseconds, then random
 * bits. The timestamp is the upload's creation time, so the store derives its date folder and its
 * expiry from the id alone — no index, no lookup.
 */
const uuidV7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isNativeUploadId(id: string): boolean {
  return uuidV7Pattern.test(id);
}

/**
 * A random (v4) UUID already has the variant bits and the 74 random bits a UUIDv7 needs after its
 * version digit; Node draws them from a pooled entropy buffer, so no system call per id. The
 * first 48 bits become the timestamp and the version digit 7.
 */
export function newUploadId(nowMs: number = Date.now()): string {
  const ms = Math.floor(nowMs);
  if (!(ms >= 0 && ms < 2 ** 48)) throw new RangeError(`no UUIDv7 timestamp: ${nowMs}`);
  const timestamp = ms.toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${timestamp.slice(0, 8)}-${timestamp.slice(8)}-7${random.slice(15)}`;
}

/** Creation time in Unix milliseconds; only meaningful for ids that pass `isNativeUploadId`. */
export function uploadIdTimestamp(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * How far from now a hook-chosen id may be dated: the id is the upload's creation date, so one
 * from the past would expire early (or land in a day folder already cleaned) and one from the
 * future would outlive every expiry. Wide enough for clocks that disagree a little.
 */
export const hookIdWindowMs = 10 * 60_000;

/** Why an id a pre-create hook chose cannot name a new upload; undefined when it can. */
export function hookIdProblem(id: string, nowMs: number): string | undefined {
  if (!isNativeUploadId(id)) return 'not a UUIDv7';
  if (Math.abs(uploadIdTimestamp(id) - nowMs) > hookIdWindowMs) {
    return `dated ${new Date(uploadIdTimestamp(id)).toISOString()}, more than ${hookIdWindowMs / 60_000} minutes from now`;
  }
  return undefined;
}
