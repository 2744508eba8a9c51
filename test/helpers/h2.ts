import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';

export interface H2Answer {
  /** 0 when the stream ended without a response. */
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The RST_STREAM code the stream closed with (0: NO_ERROR, or none). */
  rstCode: number;
  /** The server closed the stream (RST_STREAM) while this side was still sending its body. */
  closedWhileSending: boolean;
}

/**
 * An HTTP/2 session over TLS to `url`, trusting `ca` (throws unless ALPN chose h2), or without
 * `ca` cleartext HTTP/2 with prior knowledge (h2c) to an http:// `url`.
 */
export async function h2Connect(url: string, ca?: Buffer): Promise<ClientHttp2Session> {
  const session = ca ? connect(url, { ca, servername: 'localhost' }) : connect(url);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  session.on('error', () => {});
  if (ca && session.alpnProtocol !== 'h2') throw new Error(`ALPN chose ${session.alpnProtocol}`);
  return session;
}

/**
 * One request on `session`. `send` writes the body (default: `body`, or none); the answer comes
 * once the stream closed, with the reset code if it was reset.
 */
export function h2Request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: Buffer | ((stream: ClientHttp2Stream) => void),
): Promise<H2Answer> {
  const bodiless = body === undefined;
  const stream = session.request(headers, { endStream: bodiless });
  return new Promise((resolve) => {
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (received) => {
      status = Number(received[':status']);
      responseHeaders = received;
    });
    let closedWhileSending = false;
    let rstCode: number | undefined;
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => {});
    stream.on('end', () => {
      if (stream.writableFinished) return;
      // The answer is complete and the body is not: a client stops sending (Node's client
      // stream would otherwise wait for writes the server no longer takes).
      closedWhileSending = stream.closed;
      rstCode = stream.rstCode;
      stream.destroy();
    });
    stream.on('close', () =>
      resolve({
        status,
        headers: responseHeaders,
        body: Buffer.concat(chunks),
        rstCode: rstCode ?? stream.rstCode ?? 0,
        closedWhileSending,
      }),
    );
    if (typeof body === 'function') body(stream);
    else if (body !== undefined) stream.end(body);
  });
}
