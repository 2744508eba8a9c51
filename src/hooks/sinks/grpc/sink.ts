import type { HookConfig } from '../../../config/schema/hooks.ts';
import { hookAnswerFrom } from '../../answer.ts';
import { canonicalHeaderName } from '../../header-names.ts';
import type { HookEvent, HookResponse } from '../../types.ts';
import type { HookSink } from '../sink.ts';
import type { HookClient } from './client.ts';
import { fromProtoResponse, toProtoRequest } from './messages.ts';

type GrpcHookConfig = Extract<HookConfig, { type: 'grpc' }>;

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
  /** grpc-js and the proto load here, not at start-up: most gateways have no gRPC hook. */
  readonly #client: Promise<HookClient>;

  constructor(config: GrpcHookConfig, name: string) {
    this.config = config;
    this.name = name;
    this.#client = import('./client.ts').then(({ openHookClient }) => openHookClient(config));
    // A failure to load shows at each send; unhandled here it would end the process.
    this.#client.catch(() => {});
  }

  async send(event: HookEvent, requestHeaders: Record<string, string[]>): Promise<HookResponse> {
    const metadata: [string, string][] = Object.entries(this.config.headers);
    for (const name of this.config.forwardHeaders) {
      // As tusd: the first value; one that metadata cannot carry is left out.
      const value = requestHeaders[canonicalHeaderName(name)]?.[0];
      if (value !== undefined && metadataValue.test(value)) metadata.push([name, value]);
    }
    const client = await this.#client;
    let response: Awaited<ReturnType<HookClient['invoke']>>;
    try {
      response = await client.invoke(
        toProtoRequest(event),
        metadata,
        Date.now() + this.config.timeout,
      );
    } catch (error) {
      const details = (error as { details?: unknown }).details;
      if (typeof details !== 'string') throw error;
      // The server's text goes to the logs: credentials it echoes back must not.
      const text = withoutValues(
        details.slice(0, 300),
        metadata.map(([, value]) => value),
      );
      throw new Error(`${(error as Error).message} ${text}`.trim());
    }
    return hookAnswerFrom(fromProtoResponse(response));
  }

  async close(): Promise<void> {
    (await this.#client.catch(() => undefined))?.close();
  }
}

function withoutValues(text: string, values: string[]): string {
  let result = text;
  for (const value of values) {
    if (value.length >= 4) result = result.replaceAll(value, '[redacted]');
  }
  return result;
}
