import { z } from 'zod';
import { parseDuration, parseListenAddress, parseSize } from '../units.ts';

/** A duration such as `60s` or `7d`, parsed to milliseconds. */
export const duration = z.string().transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a duration (use e.g. 500ms, 60s, 5m, 12h, 7d)`,
    });
    return z.NEVER;
  }
  return ms;
});

/** A size such as `100GiB`, `10MB` or a plain number of bytes. */
export const size = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a size (use e.g. 1048576, 500MB, 100GiB)`,
    });
    return z.NEVER;
  }
  return bytes;
});

export const listenAddress = z.string().transform((value, ctx) => {
  const address = parseListenAddress(value);
  if (!address) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a listen address (use host:port, e.g. 127.0.0.1:1080)`,
    });
    return z.NEVER;
  }
  return address;
});

export const httpUrl = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `"${value}" must be an http:// or https:// URL` });
    return z.NEVER;
  }
  if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'credentials in the URL are not supported' });
    return z.NEVER;
  }
  return url;
});

export const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "." or "-"');
