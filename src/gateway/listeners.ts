import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import {
  constants,
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/schema/index.ts';
import { ConfigError, TusgateError } from '../errors.ts';
import { sendError } from '../tus/respond.ts';
import { drainAfterAnswer } from './early-answer.ts';
import { adaptHttp2Exchange } from './http2-compat.ts';

export type TlsConfig = NonNullable<Config['server']['tls']>;
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ListenerOptions {
  /** Names the listener in log lines: public, admin. */
  name: string;
  /** HTTPS with this certificate; plain HTTP without. */
  tls?: TlsConfig;
  /** Where `tls` is in the config, for the message when its files cannot be used. */
  tlsKey?: string;
  /** With `tls`: offer HTTP/2 by ALPN, HTTP/1.1 still served. */
  http2?: boolean;
  /** Without `tls`: HTTP/2 with prior knowledge (h2c) too, told apart by the connection preface. */
  h2c?: boolean;
  /** HTTP/1.1 settings (timeouts, header size), as node:http takes them. */
  http1?: ServerOptions;
  log: Logger;
}

/**
 * One listening socket of the gateway: plain HTTP, HTTPS, or HTTPS with HTTP/2 by ALPN (HTTP/1.1
 * still served on it). HTTP/1.1 requests on any of them are Node's IncomingMessage/ServerResponse
 * with the same timeouts and limits; HTTP/2 streams are adapted to look the same (see
 * http2-compat.ts), so the handler never needs to know which protocol it serves.
 */
export class Listener {
  readonly server: NetServer;
  /**
   * The servers that emit requests ('request', 'checkContinue'): `server`, and with h2c the HTTP/2
   * server the sniffed connections are handed to, which listens on nothing itself.
   */
  readonly requestServers: NetServer[];
  readonly scheme: 'http' | 'https';
  private readonly log: Logger;
  private readonly tls: TlsConfig | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  private readonly watchers: FSWatcher[] = [];
  /** The certificate files' bytes in force, to skip reloads that change nothing. */
  private loadedTls = '';
  private reloadTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<boolean> = Promise.resolve(true);

  private constructor(server: NetServer, options: ListenerOptions, tlsFiles?: string) {
    this.server = server;
    this.log = options.log.child({ listener: options.name });
    this.tls = options.tls;
    this.scheme = options.tls ? 'https' : 'http';
    this.requestServers = [server];
    if (tlsFiles !== undefined) this.loadedTls = tlsFiles;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('tlsClientError', (error: Error) => {
      this.log.debug({ err: error }, 'TLS handshake failed');
    });
  }

  /** Reads the certificate files (a missing or bad one stops the start) and makes the server. */
  static create(options: ListenerOptions, handler: Handler): Listener {
    if (!options.tls && options.h2c) return Listener.createWithH2c(options, handler);
    if (!options.tls) return new Listener(createHttpServer(options.http1 ?? {}, handler), options);
    const at = options.tlsKey ?? 'server.tls';
    let files: TlsFiles;
    try {
      files = readTlsFilesNow(options.tls);
      createSecureContext(tlsOptions(options.tls, files));
    } catch (error) {
      const { code, path } = error as NodeJS.ErrnoException;
      const reason = code && path ? `${path}: ${code}` : (error as Error).message;
      throw new ConfigError([{ path: at, message: `cannot use the certificate (${reason})` }]);
    }
    const secure = tlsOptions(options.tls, files);
    if (!options.http2) {
      const server = createHttpsServer({ ...options.http1, ...secure }, handler);
      return new Listener(server, options, files.fingerprint).watchCertificates();
    }
    const http1 = options.http1 ?? {};
    const server: Http2SecureServer = createSecureServer(
      {
        ...secure,
        allowHTTP1: true,
        settings: http2Settings(http1),
      },
      http2Handler(handler, http1.maxHeaderSize, () => listener.log),
    );
    // HTTP/1.1 connections on the HTTP/2 server: the same limits as on the others.
    const h1 = server as Http2SecureServer & Record<string, unknown>;
    for (const key of ['headersTimeout', 'requestTimeout', 'keepAliveTimeout'] as const) {
      if (http1[key] !== undefined) h1[key] = http1[key];
    }
    if (http1.maxHeaderSize !== undefined) h1.maxHeaderSize = http1.maxHeaderSize;
    const listener: Listener = new Listener(server, options, files.fingerprint);
    listener.trackSessions(server);
    return listener.watchCertificates();
  }

  /**
   * Plain HTTP/1.1 and h2c on one port. Node's cleartext HTTP/2 server cannot serve HTTP/1.1, so
   * the HTTP/1.1 server listens and each new connection is read until its first bytes either are
   * the HTTP/2 client preface (RFC 9113 §3.4: prior knowledge) or cannot be; the bytes read are put
   * back and the socket goes to the HTTP/2 server or to the HTTP/1.1 server's own handling.
   */
  private static createWithH2c(options: ListenerOptions, handler: Handler): Listener {
    const http1 = options.http1 ?? {};
    const server = createHttpServer(http1, handler);
    const h2: Http2Server = createH2cServer(
      { settings: http2Settings(http1) },
      http2Handler(handler, http1.maxHeaderSize, () => listener.log),
    );
    const serveHttp1 = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    // A connection that sends nothing is bounded like a slow request head.
    const sniffMs = http1.headersTimeout ?? 60_000;
    server.on('connection', (socket: Socket) => {
      sniffPreface(socket, sniffMs, (isHttp2) => {
        if (isHttp2) h2.emit('connection', socket);
        else {
          for (const serve of serveHttp1) serve.call(server, socket);
          // Paused to put the bytes back; node:http reads them once the socket flows again.
          socket.resume();
        }
      });
    });
    const listener: Listener = new Listener(server, options);
    (listener.requestServers as NetServer[]).push(h2 as unknown as NetServer);
    listener.trackSessions(h2);
    return listener;
  }

  private trackSessions(server: Http2Server | Http2SecureServer): void {
    server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', (error) => this.log.debug({ err: error }, 'HTTP/2 session error'));
    });
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Reads the certificate and key again; new connections get them, open ones (and the uploads on
   * them) keep the old. A pair that does not load (a key that does not match, a file half written)
   * is refused with a log line and the old one stays; false then.
   */
  reloadCertificates(): Promise<boolean> {
    const tls = this.tls;
    if (!tls) return Promise.resolve(true);
    this.reloading = this.reloading.then(async () => {
      try {
        const files = await readTlsFiles(tls);
        if (files.fingerprint === this.loadedTls) return true;
        const options = tlsOptions(tls, files);
        createSecureContext(options);
        (this.server as HttpsServer).setSecureContext(options);
        this.loadedTls = files.fingerprint;
        this.log.info({ cert: tls.cert }, 'TLS certificate reloaded');
        return true;
      } catch (error) {
        this.log.error(
          { err: error, cert: tls.cert, key: tls.key },
          'TLS certificate reload refused; the previous certificate stays in use',
        );
        return false;
      }
    });
    return this.reloading;
  }

  /**
   * Stops taking connections. Idle HTTP/1.1 connections close; HTTP/2 clients get a GOAWAY, so
   * they open no more streams while the running ones finish.
   */
  stopAccepting(): Promise<void> {
    for (const watcher of this.watchers) watcher.close();
    clearTimeout(this.reloadTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.closeIdle();
    return closed;
  }

  closeIdle(): void {
    (this.server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    for (const session of this.sessions) if (!session.closed) session.close();
  }

  /** Cuts every connection, running requests and all. */
  closeAll(): void {
    (this.server as { closeAllConnections?: () => void }).closeAllConnections?.();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * Watches the certificate's and key's folders: tools replace the files by rename (certbot,
   * Kubernetes' `..data` symlink swap), which a watch on the file itself would miss.
   */
  private watchCertificates(): this {
    const tls = this.tls;
    if (!tls) return this;
    const folders = new Set([tls.cert, tls.key, tls.clientCa].filter(isSet).map(folderOf));
    for (const folder of folders) {
      try {
        const watcher = watch(folder, () => {
          clearTimeout(this.reloadTimer);
          this.reloadTimer = setTimeout(() => void this.reloadCertificates(), 200);
          this.reloadTimer.unref();
        });
        watcher.unref();
        this.watchers.push(watcher);
      } catch (error) {
        this.log.warn({ err: error, folder }, 'cannot watch the TLS files; reload with SIGHUP');
      }
    }
    return this;
  }
}

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Reads a new connection until its bytes so far either are the whole HTTP/2 client preface or stop
 * matching it (an HTTP/1.1 request line, usually at the first byte), puts them back unread and
 * tells which it is. A connection that closes or stays silent for `timeoutMs` is dropped.
 */
function sniffPreface(socket: Socket, timeoutMs: number, then: (isHttp2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  const done = (isHttp2: boolean) => {
    socket.off('data', onData);
    socket.off('error', onError);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(seen);
    then(isHttp2);
  };
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const length = Math.min(seen.length, HTTP2_PREFACE.length);
    if (!seen.subarray(0, length).equals(HTTP2_PREFACE.subarray(0, length))) done(false);
    else if (length === HTTP2_PREFACE.length) done(true);
  };
  const onError = () => socket.destroy();
  socket.on('data', onData);
  socket.on('error', onError);
  socket.setTimeout(timeoutMs, () => socket.destroy());
}

function http2Settings(http1: ServerOptions) {
  return {
    // Many streams on one connection share its socket: a bound keeps one client in check.
    maxConcurrentStreams: 100,
    ...(http1.maxHeaderSize === undefined ? {} : { maxHeaderListSize: http1.maxHeaderSize }),
  };
}

/**
 * The request handler of an HTTP/2 server: HTTP/1.1 requests (ALPN fallback) pass as they are,
 * HTTP/2 ones are adapted (http2-compat.ts) or refused when they cannot be.
 */
function http2Handler(
  handler: Handler,
  maxHeaderSize: number | undefined,
  log: () => Logger,
): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  return (req, res) => {
    if (req.httpVersionMajor !== 2) {
      handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      return;
    }
    const exchange = adaptHttp2Exchange(req, res, maxHeaderSize ?? 16 * 1024);
    if (exchange === 'malformed') {
      log().debug({ path: req.url }, 'malformed HTTP/2 request: stream reset');
      req.stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    if (exchange === 'headers-too-large') {
      log().debug({ path: req.url }, 'HTTP/2 request headers too large');
      res.stream.once('finish', () => drainAfterAnswer(req as unknown as IncomingMessage));
      sendError(
        res as unknown as ServerResponse,
        new TusgateError('TUSGATE_ERR_HEADERS_TOO_LARGE'),
      );
      return;
    }
    handler(exchange.req, exchange.res);
  };
}

interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer | undefined;
  fingerprint: string;
}

async function readTlsFiles(tls: TlsConfig): Promise<TlsFiles> {
  const [cert, key, clientCa] = await Promise.all([
    readFile(tls.cert),
    readFile(tls.key),
    tls.clientCa === undefined ? undefined : readFile(tls.clientCa),
  ]);
  return withFingerprint(cert, key, clientCa);
}

function readTlsFilesNow(tls: TlsConfig): TlsFiles {
  const clientCa = tls.clientCa === undefined ? undefined : readFileSync(tls.clientCa);
  return withFingerprint(readFileSync(tls.cert), readFileSync(tls.key), clientCa);
}

function withFingerprint(cert: Buffer, key: Buffer, clientCa: Buffer | undefined): TlsFiles {
  const fingerprint = [cert, key, clientCa ?? ''].map((part) => part.toString('base64')).join();
  return { cert, key, clientCa, fingerprint };
}

function tlsOptions(
  tls: TlsConfig,
  files: TlsFiles,
): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return {
    cert: files.cert,
    key: files.key,
    minVersion: tls.minVersion,
    ...(files.clientCa ? { ca: files.clientCa } : {}),
    requestCert: files.clientCa !== undefined,
    rejectUnauthorized: files.clientCa !== undefined,
  };
}

function folderOf(file: string): string {
  return dirname(resolve(file));
}

function isSet(value: string | undefined): value is string {
  return value !== undefined;
}
