import type { IncomingMessage } from 'node:http';
import { PassThrough, Transform } from 'node:stream';
import { TusgateError } from '../../errors.ts';

/**
 * The client's body as undici's request body. undici destroys its body stream when the backend
 * connection fails mid-upload; were that the IncomingMessage, the client's own connection would be
 * reset before it could read our 502/504 (a reset discards what it had not read yet). undici gets a
 * pass-through instead: when it goes, the client's body is unpiped, and once the answer is out the
 * gateway drains the rest (see gateway/early-answer.ts).
 *
 * With `limit` (a chunked body, whose length nobody declared, on a route with `maxSize`), the body
 * ends in a 413 before its first byte past the limit: the backend keeps what came before, as after
 * any interrupted PATCH, and never more than the route allows.
 */
export function upstreamBody(req: IncomingMessage, limit?: number): PassThrough | Transform {
  const body = limit === undefined ? new PassThrough(streamOptions) : limitedStream(limit);
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

const streamOptions = { highWaterMark: 128 * 1024 };

function limitedStream(limit: number): Transform {
  let passed = 0;
  return new Transform({
    ...streamOptions,
    transform(chunk: Buffer, _encoding, callback) {
      passed += chunk.length;
      if (passed > limit) {
        callback(
          new TusgateError('TUSGATE_ERR_SIZE_EXCEEDED', {
            message: 'the body goes past the maximum size',
          }),
        );
        return;
      }
      callback(null, chunk);
    },
  });
}
