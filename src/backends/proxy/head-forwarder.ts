import type { ServerResponse } from 'node:http';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { TusgateError } from '../../errors.ts';
import { BackendIdleError, classify, type ForwardOutcome } from './forward-handler.ts';

export interface HeadOptions {
  path: string;
  headers: Record<string, string | string[]>;
  res: ServerResponse;
  rewriteHeaders: (status: number, headers: IncomingHttpHeaders) => OutgoingHttpHeaders;
  onError: (error: TusgateError) => void;
}

/**
 * HEAD requests go over Node's http client: undici closes the connection after every HEAD
 * (to cope with servers that send a body anyway), which for tus — a HEAD before every resume —
 * meant a new TCP connection to the backend per HEAD. Node's agent keeps them alive.
 */
export class HeadForwarder {
  private readonly agent: HttpAgent;
  private readonly origin: URL;
  private readonly idleTimeoutMs: number;
  private readonly connectTimeoutMs: number;

  constructor(
    origin: URL,
    options: { connections: number; idleTimeoutMs: number; connectTimeoutMs: number },
  ) {
    this.origin = origin;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs;
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.connections,
      scheduling: 'lifo' as const,
    };
    this.agent =
      origin.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  }

  forward(options: HeadOptions): Promise<ForwardOutcome> {
    const { res } = options;
    const send = this.origin.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: ForwardOutcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const upstream = send({
        protocol: this.origin.protocol,
        hostname: this.origin.hostname,
        port: this.origin.port,
        path: options.path,
        method: 'HEAD',
        headers: options.headers,
        agent: this.agent,
      });
      // Started once the agent hands out a socket that is still connecting: time queued for a
      // free socket is not the backend failing to accept a connection.
      let connectTimer: NodeJS.Timeout | undefined;
      upstream.once('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => {
          const error = Object.assign(new Error('connect timeout'), {
            code: 'UND_ERR_CONNECT_TIMEOUT',
          });
          upstream.destroy(error);
        }, this.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      upstream.setTimeout(this.idleTimeoutMs, () =>
        upstream.destroy(new BackendIdleError('backend made no progress')),
      );
      upstream.once('response', (response) => {
        clearTimeout(connectTimer);
        if (!res.destroyed) {
          res.writeHead(
            response.statusCode ?? 502,
            options.rewriteHeaders(response.statusCode ?? 502, response.headers),
          );
          res.end();
        }
        response.resume();
        settle({ kind: 'response', status: response.statusCode ?? 502 });
      });
      upstream.once('error', (error) => {
        clearTimeout(connectTimer);
        if (res.destroyed) {
          settle({ kind: 'client-aborted' });
          return;
        }
        const { tusError, errorKind } = classify(error);
        options.onError(tusError);
        settle({ kind: 'backend-error', error: tusError, errorKind });
      });
      res.once('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
