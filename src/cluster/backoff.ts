/**
 * How long to wait before replacing a worker that died, given how many times its slot's workers
 * died in the last minute: at once the first time, then doubling from 250 ms up to 30 s, so a
 * worker that crashes on start does not spin the machine.
 */
export function restartDelay(recentCrashes: number): number {
  if (recentCrashes <= 1) return 0;
  return Math.min(30_000, 250 * 2 ** (recentCrashes - 2));
}
