import type { IncomingMessage } from 'node:http';
import { constants, type Http2ServerRequest } from 'node:http2';

/** How long the rest of a body is read and dropped after an early answer, before the cut. */
const drainMs = 5_000;

/**
 * tusgate sometimes answers before it has read a whole body: a refusal, a hook's StopUpload, a
 * body over the upload's length, a backend that failed mid-upload. A client still sending would
 * then be reset (EPIPE, ECONNRESET: a reset also discards what it had not read yet) before it
 * could read the answer. So the rest of the body is read and dropped for a while; a client that
 * keeps sending past that gets its connection cut.
 *
 * HTTP/2 has a word for this instead (RFC 9113 §8.1): once the answer is out, the stream is reset
 * with NO_ERROR, which tells the client to stop sending and keep the answer; the connection and
 * its other streams carry on.
 */
export function drainAfterAnswer(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  if (req.httpVersionMajor === 2) {
    const { stream } = req as unknown as Http2ServerRequest;
    // Node sends the reset after the answer's last frame.
    if (!stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
    return;
  }
  const cut = setTimeout(() => req.socket?.destroy(), drainMs);
  cut.unref();
  const settle = () => clearTimeout(cut);
  req.once('end', settle);
  req.once('close', settle);
  // Nothing consumes the body once the answer is out: a pipe still attached (the proxy's upstream
  // body, whose request is over) would pause it again at its first full buffer, and the rest
  // would sit unread until the cut, taking the next request on the connection down with it.
  req.unpipe();
  req.resume();
}
