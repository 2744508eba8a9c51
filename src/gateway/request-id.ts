import { randomUUID } from 'node:crypto';

const acceptable = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Honours a sane incoming X-Request-Id (nginx's $request_id), otherwise makes one. The caller
 * passes only what a trusted proxy sent: any other peer's id is replaced.
 */
export function requestIdFor(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value && acceptable.test(value) ? value : randomUUID();
}
