import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

/**
 * The client's body as undici's request body. undici destroys its body stream when the backend
 * connection fails mid-upload; were that the IncomingMessage, the client's own connection would be
 * reset before it could read our 502/504 (a reset discards what it had not read yet). undici gets a
 * pass-through instead: when it goes, the client's body is unpiped, and once the answer is out the
 * gateway drains the rest (see gateway/early-answer.ts).
 */
export function upstreamBody(req: IncomingMessage): PassThrough {
  const body = new PassThrough({ highWaterMark: 128 * 1024 });
  req.pipe(body);
  // pipe() does not pass errors on: a client that goes away must end the upstream body too.
  req.once('close', () => {
    if (!req.complete) body.destroy(new Error('client went away mid-body'));
  });
  body.once('close', () => {
    if (!req.complete) req.unpipe(body);
  });
  return body;
}
