import type { IncomingMessage, ServerResponse } from 'node:http';

/** Requests whose client waits for `100 Continue` before sending its body, not yet told. */
const waiting = new WeakSet<IncomingMessage>();

/**
 * The server's `checkContinue` listener: Node would answer `100 Continue` at once, before anyone
 * knows who the client is. Held back instead, until `continueRequest` says the body is welcome.
 * Until then an answer ends the connection: a client may send its body anyway once it stops
 * waiting, and those bytes must not be read as the next request.
 */
export function holdContinue(req: IncomingMessage, res: ServerResponse): void {
  waiting.add(req);
  // HTTP/2 has no Connection header (a refused stream does not hold up the others).
  if (req.httpVersionMajor === 1) res.setHeader('Connection', 'close');
}

/**
 * Tells a waiting client to send its body (`100 Continue`), once: called when the request is
 * authenticated, its owner checked and its backend about to read the body. A no-op for clients
 * that did not ask, or a server that already answered them (no `checkContinue` listener).
 */
export function continueRequest(req: IncomingMessage, res: ServerResponse): void {
  if (!waiting.delete(req) || res.headersSent || res.writableEnded) return;
  if (req.httpVersionMajor === 1) res.removeHeader('Connection');
  res.writeContinue();
}
