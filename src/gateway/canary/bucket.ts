import { createHash } from 'node:crypto';

export const bucketCount = 10_000;

/**
 * A stable bucket 0..9999 for a key (a principal or client address). A key is on the canary
 * while its bucket is below weight × 100, so raising the weight only ever adds buckets: nobody
 * moves from the canary back to the legacy backend.
 */
export function stickyBucket(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % bucketCount;
}

export function bucketOnCanary(bucket: number, weight: number): boolean {
  return bucket < Math.round(weight * (bucketCount / 100));
}

/** mulberry32: a small seeded generator, so tests of random placement are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
