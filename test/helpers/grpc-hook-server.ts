import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
  type status,
} from '@grpc/grpc-js';
import type { ProtoHookRequest, ProtoHookResponse } from '../../src/hooks/sinks/grpc/messages.ts';
import { hookHandlerService } from '../../src/hooks/sinks/grpc/service.ts';

/** A call as the hook server got it: the HookRequest message and the call metadata. */
export interface ReceivedGrpcHook {
  request: ProtoHookRequest;
  metadata: Record<string, string[]>;
}

/** How the server answers one hook type. */
export type GrpcAnswer =
  | { response: ProtoHookResponse }
  | { error: { code: status; details: string } }
  | { delayMs: number; response: ProtoHookResponse };

export interface GrpcHookServer {
  /** host:port, as the config's `url` (and tusd's -hooks-grpc) take it. */
  address: string;
  hooks: ReceivedGrpcHook[];
  answer: (type: string, answer: GrpcAnswer) => void;
  /** Stops serving (connections refused) until `start` is called again on the same port. */
  stop: () => Promise<void>;
  start: () => Promise<void>;
  close: () => Promise<void>;
}

/**
 * A HookHandler server of tusd's hook.proto, as a tusd user would write one: it records each
 * InvokeHook call and answers OK with `{}` unless told otherwise per hook type.
 */
export async function startGrpcHookServer(
  options: { tls?: { cert: Buffer; key: Buffer } } = {},
): Promise<GrpcHookServer> {
  const hooks: ReceivedGrpcHook[] = [];
  const answers = new Map<string, GrpcAnswer>();
  let port = 0;
  let server: Server | undefined;
  const invokeHook = (
    call: ServerUnaryCall<ProtoHookRequest, ProtoHookResponse>,
    callback: sendUnaryData<ProtoHookResponse>,
  ) => {
    const metadata: Record<string, string[]> = {};
    for (const key of Object.keys(call.metadata.getMap())) {
      metadata[key] = call.metadata.get(key).map(String);
    }
    hooks.push({ request: call.request, metadata });
    const answer = answers.get(call.request.type) ?? { response: {} };
    if ('error' in answer) {
      callback(
        Object.assign(new Error(answer.error.details), answer.error) as Partial<ServiceError>,
        null,
      );
    } else if ('delayMs' in answer) {
      setTimeout(() => callback(null, answer.response), answer.delayMs);
    } else {
      callback(null, answer.response);
    }
  };
  const start = async () => {
    const next = new Server();
    next.addService(hookHandlerService().service, { InvokeHook: invokeHook });
    port = await new Promise<number>((resolve, reject) =>
      next.bindAsync(
        `127.0.0.1:${port}`,
        options.tls
          ? ServerCredentials.createSsl(null, [
              { cert_chain: options.tls.cert, private_key: options.tls.key },
            ])
          : ServerCredentials.createInsecure(),
        (error, bound) => (error ? reject(error) : resolve(bound)),
      ),
    );
    server = next;
  };
  const stop = async () => {
    server?.forceShutdown();
    server = undefined;
  };
  await start();
  return {
    address: `127.0.0.1:${port}`,
    hooks,
    answer: (type, answer) => answers.set(type, answer),
    stop,
    start,
    close: stop,
  };
}
