import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

/** How long the rest of a body is read and dropped after the backend failed, before the cut. */
const drainAfterFailureMs = 5_000;

/**
 * The client's body as undici's request body. undici destroys its body stream when the backend
 * connection fails mid-upload; were that the IncomingMessage, the client's own connection would be
 * reset before it could read our 502/504 (a reset discards what it had not read yet). undici gets a
 * pass-through instead: when it goes, the rest of the client's body is read and dropped for a
 * while, so the answer arrives, and then the connection is cut.
 */
export function upstreamBody(req: IncomingMessage): PassThrough {
  const body = new PassThrough({ highWaterMark: 128 * 1024 });
  req.pipe(body);
  // pipe() does not pass errors on: a client that goes away must end the upstream body too.
  req.once('close', () => {
    if (!req.complete) body.destroy(new Error('client went away mid-body'));
  });
  body.once('close', () => {
    if (req.complete || req.destroyed) return;
    req.unpipe(body);
    req.resume();
    const cut = setTimeout(() => req.socket.destroy(), drainAfterFailureMs);
    cut.unref();
    req.once('end', () => clearTimeout(cut));
  });
  return body;
}
