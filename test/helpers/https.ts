import { request as httpsRequest, type RequestOptions } from 'node:https';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Serial number of the certificate the server showed on this connection. */
  serial: string;
}

/** One HTTP/1.1 request over its own TLS connection (no keep-alive pool). */
export function httpsFetch(
  url: string,
  options: RequestOptions & { body?: Buffer | string } = {},
): Promise<HttpsAnswer> {
  const { body, ...rest } = options;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent: false, ...rest }, (res) => {
      const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          serial,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The serial of the certificate a new TLS connection to `port` is shown, and the protocol ALPN chose. */
export function peerCertificate(
  port: number,
  options: ConnectionOptions = {},
): Promise<{ serial: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    socket.once('secureConnect', () => {
      const serial = socket.getPeerCertificate().serialNumber;
      const alpn = socket.alpnProtocol;
      socket.end();
      resolve({ serial, alpn });
    });
    socket.once('error', reject);
  });
}
