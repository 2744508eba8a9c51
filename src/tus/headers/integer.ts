/**
 * A non-negative decimal integer as tus headers carry it: digits only (no sign, space or
 * fraction), at most a safe integer. Returns undefined for anything else.
 */
export function parseNonNegativeInteger(value: string): number | undefined {
  if (!/^[0-9]{1,16}$/.test(value)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : undefined;
}
