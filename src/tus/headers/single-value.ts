import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { TusgateError } from '../../errors.ts';

/**
 * The one value of a header the client may send once. A tus header sent twice (two lines, which
 * Node joins or keeps apart) is ambiguous: whichever copy a backend reads could differ from the
 * one the gateway checked, so it is a 400.
 */
export function singleValue(req: IncomingMessage, name: string): string | undefined {
  const values = req.headersDistinct[name];
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) {
    throw new TusgateError('TUSGATE_ERR_INVALID_HEADER', {
      message: `the ${name} header is sent more than once`,
    });
  }
  return values[0];
}

/** The same, over a header object (a backend's response). Arrays are refused the same way. */
export function singleResponseValue(
  headers: IncomingHttpHeaders,
  name: string,
): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}
