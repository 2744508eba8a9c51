import { createSecureContext } from 'node:tls';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { ProtoHookRequest, ProtoHookResponse } from './messages.ts';
import { hookHandlerService } from './service.ts';

/** One channel to a HookHandler server; loaded only by routes that have a gRPC hook. */
export interface HookClient {
  /** Resolves with the answer, rejects with a GrpcCallError (any status but OK). */
  invoke(
    request: ProtoHookRequest,
    metadata: [string, string][],
    deadline: number,
  ): Promise<ProtoHookResponse>;
  close(): void;
}

export class GrpcCallError extends Error {
  /** The status name, e.g. UNAVAILABLE or DEADLINE_EXCEEDED. */
  readonly status: string;
  /** The server's (or grpc-js's) text: not ours, may echo what it was sent. */
  readonly details: string;

  constructor(error: ServiceError) {
    const name = status[error.code] ?? String(error.code);
    super(`gRPC call failed: ${name}`);
    this.status = name;
    this.details = String(error.details ?? '');
  }
}

type InvokeHook = (
  request: ProtoHookRequest,
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: ServiceError | null, response?: ProtoHookResponse) => void,
) => void;

export function openHookClient(options: {
  url: string;
  tls: boolean;
  sizeLimit: number;
}): HookClient {
  const HookHandler = hookHandlerService();
  const client = new HookHandler(
    options.url,
    // Node's own trust store, NODE_EXTRA_CA_CERTS included; grpc-js's createSsl() leaves the
    // extra CAs out.
    options.tls
      ? credentials.createFromSecureContext(createSecureContext())
      : credentials.createInsecure(),
    {
      'grpc.max_receive_message_length': options.sizeLimit,
      // A server that comes back is noticed within seconds, not grpc's 2 minutes.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5_000,
    },
  );
  const invokeHook = (client as unknown as { InvokeHook: InvokeHook }).InvokeHook.bind(client);
  return {
    invoke: (request, entries, deadline) => {
      const metadata = new Metadata();
      for (const [key, value] of entries) metadata.set(key, value);
      return new Promise((resolve, reject) => {
        invokeHook(request, metadata, { deadline }, (error, response) => {
          if (error) reject(new GrpcCallError(error));
          else resolve(response ?? {});
        });
      });
    },
    close: () => client.close(),
  };
}
