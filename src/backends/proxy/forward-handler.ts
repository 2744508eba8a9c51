import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { TusgateError } from '../../errors.ts';

type DispatchController = Dispatcher.DispatchController;

export type ForwardOutcome =
  | { kind: 'response'; status: number }
  | { kind: 'backend-error'; error: TusgateError; errorKind: 'connect' | 'timeout' | 'io' }
  | { kind: 'client-aborted' }
  | { kind: 'client-refused'; status: number }
  | { kind: 'client-stalled' };

export interface ForwardOptions {
  req: IncomingMessage;
  res: ServerResponse;
  /** The request body to stream upstream, or null. */
  body: Readable | null;
  idleTimeoutMs: number;
  /** The client's upload body made no progress for this long: it is answered and ended. */
  bodyIdleTimeoutMs: number;
  rewriteHeaders: (status: number, headers: IncomingHttpHeaders) => OutgoingHttpHeaders;
  /**
   * Something that must settle before the client sees the response (a creation on record). When
   * it rejects, `refuse` answers instead and the backend's response body is discarded.
   */
  beforeResponse?: () => Promise<void> | undefined;
  refuse?: (reason: unknown) => Promise<void>;
  onError: (error: TusgateError) => void;
  /** Answers a client whose body stalled (the answer goes out before the upstream is cut). */
  onClientStalled: (error: TusgateError) => void;
  onResponseBytes: (count: number) => void;
  onRequestBytes: (count: number) => void;
  done: (outcome: ForwardOutcome) => void;
}

class ClientAbortedError extends Error {
  override name = 'ClientAbortedError';
}

export class BackendIdleError extends Error {
  override name = 'BackendIdleError';
}

class BodyStalledError extends Error {
  override name = 'BodyStalledError';
}

/**
 * Streams one request to a backend and its response back, with backpressure both ways:
 * undici pauses the incoming request when the upstream socket is full, and this handler
 * pauses the upstream response while the client's socket is full.
 *
 * An idle watchdog answers 504 when the backend makes no progress for `idleTimeoutMs`
 * while we are waiting on it (upload paused by its backpressure, or response not coming).
 * A client that sends nothing is not the backend's fault: a second timer ends a body that
 * made no progress for `bodyIdleTimeoutMs` while we were waiting on the client. It answers
 * 408 first, then cuts the upstream connection mid-body; tus servers keep the bytes they
 * received before the cut (tusd does), and the client resumes from HEAD's offset.
 */
export class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: DispatchController | undefined;
  private abortReason: Error | undefined;
  private finished = false;
  private requestBodyDone: boolean;
  private waitingForClientDrain = false;
  /** Set while the response waits on `beforeResponse`; later events queue behind it. */
  private gate: Promise<void> | undefined;
  /** The gate refused the response: the backend's body is read and dropped. */
  private discarding = false;
  private readonly watchdog: NodeJS.Timeout;
  private bodyIdleTimer: NodeJS.Timeout | undefined;
  private stalled = false;
  private readonly options: ForwardOptions;

  constructor(options: ForwardOptions) {
    this.options = options;
    const { req, res, body } = options;
    void req;
    this.requestBodyDone = body === null;
    this.watchdog = setTimeout(() => this.onIdle(), options.idleTimeoutMs);
    this.watchdog.unref();
    res.once('close', () => {
      if (!res.writableFinished) this.abort(new ClientAbortedError('client went away'));
    });
    req.once('error', () => this.abort(new ClientAbortedError('client request failed')));
  }

  onRequestStart(controller: DispatchController): void {
    this.controller = controller;
    if (this.abortReason) {
      controller.abort(this.abortReason);
      return;
    }
    // Started once the body has a connection: time spent queued is not the client's.
    if (!this.requestBodyDone && this.options.bodyIdleTimeoutMs > 0) {
      this.bodyIdleTimer = setTimeout(() => this.onBodyIdle(), this.options.bodyIdleTimeoutMs);
      this.bodyIdleTimer.unref();
    }
  }

  /** undici reports each chunk it wrote upstream; observing it here keeps the body untouched. */
  onBodySent(chunk: Buffer): void {
    this.options.onRequestBytes(chunk.length);
    this.watchdog.refresh();
    this.bodyIdleTimer?.refresh();
  }

  onRequestSent(): void {
    this.requestBodyDone = true;
    clearTimeout(this.bodyIdleTimer);
    this.watchdog.refresh();
  }

  onResponseStart(
    _controller: DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.watchdog.refresh();
    const { res } = this.options;
    if (res.destroyed) return;
    const rewritten = this.options.rewriteHeaders(statusCode, headers);
    const ready = this.options.beforeResponse?.();
    if (!ready) {
      res.writeHead(statusCode, rewritten);
      return;
    }
    this.gate = ready.then(
      () => {
        this.gate = undefined;
        if (!res.destroyed && !res.headersSent) res.writeHead(statusCode, rewritten);
      },
      async (reason: unknown) => {
        this.discarding = true;
        // Without an answer of its own the client must not take silence for a 201.
        await (this.options.refuse?.(reason) ?? Promise.reject(reason)).catch(() => res.destroy());
        this.gate = undefined;
      },
    );
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    const gate = this.gate;
    if (gate) {
      controller.pause();
      void gate.then(() => {
        this.onResponseData(controller, chunk);
        if (!this.waitingForClientDrain) controller.resume();
      });
      return;
    }
    this.watchdog.refresh();
    if (this.discarding) return;
    const { res } = this.options;
    this.options.onResponseBytes(chunk.length);
    if (!res.write(chunk)) {
      this.waitingForClientDrain = true;
      controller.pause();
      res.once('drain', () => {
        this.waitingForClientDrain = false;
        this.watchdog.refresh();
        controller.resume();
      });
    }
  }

  onResponseEnd(): void {
    if (this.gate) {
      void this.gate.then(() => this.onResponseEnd());
      return;
    }
    const { res } = this.options;
    if (!this.discarding) res.end();
    this.finish({ kind: 'response', status: res.statusCode });
  }

  onResponseError(_controller: DispatchController, error: Error): void {
    if (this.stalled) {
      this.finish({ kind: 'client-stalled' });
      return;
    }
    if (error instanceof ClientAbortedError || this.options.res.destroyed) {
      this.finish({ kind: 'client-aborted' });
      return;
    }
    if (error instanceof TusgateError && error.status < 500) {
      // The request itself was refused on its way (a body past maxSize): not the backend's fault.
      this.options.onError(error);
      this.finish({ kind: 'client-refused', status: error.status });
      return;
    }
    const { tusError, errorKind } = classify(error);
    this.options.onError(tusError);
    this.finish({ kind: 'backend-error', error: tusError, errorKind });
  }

  private abort(reason: Error): void {
    if (this.finished || this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  private onIdle(): void {
    if (this.finished) return;
    const body = this.options.body;
    const clientIsSlow =
      this.waitingForClientDrain || (!this.requestBodyDone && body !== null && !body.isPaused());
    if (clientIsSlow) {
      this.watchdog.refresh();
      return;
    }
    this.abort(new BackendIdleError('backend made no progress'));
  }

  /**
   * undici's abort destroys the request body, and with it the client's socket: the 408 must be
   * on its way before the upstream is cut.
   */
  private onBodyIdle(): void {
    if (this.finished || this.requestBodyDone || this.abortReason) return;
    if (this.options.body?.isPaused()) {
      // Held back by the backend's backpressure: the backend watchdog's business.
      this.bodyIdleTimer?.refresh();
      return;
    }
    this.stalled = true;
    const { res } = this.options;
    const cut = () => this.abort(new BodyStalledError('client sent no body bytes'));
    if (res.headersSent || res.destroyed) {
      cut();
      return;
    }
    res.once('finish', cut);
    res.once('close', cut);
    this.options.onClientStalled(
      new TusgateError('TUSGATE_ERR_REQUEST_TIMEOUT', { headers: { Connection: 'close' } }),
    );
  }

  private finish(outcome: ForwardOutcome): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.watchdog);
    clearTimeout(this.bodyIdleTimer);
    this.options.done(outcome);
  }
}

const connectCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function classify(error: Error): {
  tusError: TusgateError;
  errorKind: 'connect' | 'timeout' | 'io';
} {
  const code = (error as { code?: string }).code ?? '';
  if (
    error instanceof BackendIdleError ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return {
      tusError: new TusgateError('TUSGATE_ERR_BACKEND_TIMEOUT', { cause: error }),
      errorKind: 'timeout',
    };
  }
  return {
    tusError: new TusgateError('TUSGATE_ERR_BACKEND_UNAVAILABLE', { cause: error }),
    errorKind: connectCodes.has(code) ? 'connect' : 'io',
  };
}
