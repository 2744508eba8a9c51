import { createSecureContext } from 'node:tls';
import {
  type Client,
  credentials,
  status as grpcStatus,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import type { HookConfig } from '../../../config/schema/hooks.ts';
import { hookAnswerFrom } from '../../answer.ts';
import { canonicalHeaderName } from '../../header-names.ts';
import type { HookEvent, HookResponse } from '../../types.ts';
import type { HookSink } from '../sink.ts';
import { fromProtoResponse, type ProtoHookResponse, toProtoRequest } from './messages.ts';
import { hookHandlerService } from './service.ts';

type GrpcHookConfig = Extract<HookConfig, { type: 'grpc' }>;
type InvokeHook = (
  request: unknown,
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: ServiceError | null, response?: ProtoHookResponse) => void,
) => void;

/** What gRPC metadata can carry as text (grpc-js refuses anything else). */
const metadataValue = /^[ -~]*$/;

/**
 * tusd's gRPC hooks (-hooks-grpc): tusgate calls HookHandler.InvokeHook of tusd's hook.proto for
 * each event; forwarded client headers and fixed `headers` travel as call metadata. An OK answer
 * is the hook's response, read like an HTTP hook's JSON; an error status, or no answer within
 * `timeout`, is a failure. The channel reconnects by itself after the server went away.
 */
export class GrpcHookSink implements HookSink {
  readonly type = 'grpc';
  readonly name: string;
  readonly config: GrpcHookConfig;
  readonly #client: Client;

  constructor(config: GrpcHookConfig, name: string) {
    this.config = config;
    this.name = name;
    const HookHandler = hookHandlerService();
    this.#client = new HookHandler(
      config.url,
      // Node's own trust store (NODE_EXTRA_CA_CERTS and NODE_USE_SYSTEM_CA apply); grpc-js's
      // createSsl() would leave the extra CAs out.
      config.tls
        ? credentials.createFromSecureContext(createSecureContext())
        : credentials.createInsecure(),
      {
        'grpc.max_receive_message_length': config.sizeLimit,
        // A server that comes back is noticed within seconds, not grpc's 2 minutes.
        'grpc.initial_reconnect_backoff_ms': 500,
        'grpc.max_reconnect_backoff_ms': 5_000,
      },
    );
  }

  send(event: HookEvent, requestHeaders: Record<string, string[]>): Promise<HookResponse> {
    const metadata = new Metadata();
    const sent: string[] = [];
    for (const [name, value] of Object.entries(this.config.headers)) {
      metadata.set(name, value);
      sent.push(value);
    }
    for (const name of this.config.forwardHeaders) {
      // As tusd: the first value; one that metadata cannot carry is left out.
      const value = requestHeaders[canonicalHeaderName(name)]?.[0];
      if (value !== undefined && metadataValue.test(value)) {
        metadata.set(name, value);
        sent.push(value);
      }
    }
    const invoke = (this.#client as unknown as { InvokeHook: InvokeHook }).InvokeHook.bind(
      this.#client,
    );
    return new Promise((resolve, reject) => {
      invoke(
        toProtoRequest(event),
        metadata,
        { deadline: Date.now() + this.config.timeout },
        (error, response) => {
          if (error) {
            const details = withoutValues(String(error.details ?? '').slice(0, 300), sent);
            reject(
              new Error(`gRPC hook failed: ${grpcStatus[error.code] ?? error.code} ${details}`),
            );
            return;
          }
          try {
            resolve(hookAnswerFrom(fromProtoResponse(response ?? {})));
          } catch (failure) {
            reject(failure);
          }
        },
      );
    });
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

/** The server's error text goes to the logs: credentials it echoes back must not. */
function withoutValues(text: string, values: string[]): string {
  let result = text;
  for (const value of values) {
    if (value.length >= 4) result = result.replaceAll(value, '[redacted]');
  }
  return result;
}
