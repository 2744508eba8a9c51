import { Agent, type Dispatcher, request } from 'undici';
import type { HookConfig } from '../../config/schema/hooks.ts';
import { canonicalHeaderName } from '../header-names.ts';
import type { HookEvent, HookResponse } from '../types.ts';
import { type HookSink, parseHookAnswer } from './sink.ts';

type HttpHookConfig = Extract<HookConfig, { type: 'http' }>;

/**
 * tusd's HTTP hooks: a POST of the hook JSON, forwarded client headers set on the request itself,
 * a 2xx `application/json` answer of at most `sizeLimit` bytes whose body is the hook's response;
 * anything else, or no answer within `timeout`, is a failure.
 */
export class HttpHookSink implements HookSink {
  readonly type = 'http';
  readonly name: string;
  readonly config: HttpHookConfig;
  readonly #agent: Agent;

  constructor(config: HttpHookConfig, name: string) {
    this.config = config;
    this.name = name;
    this.#agent = new Agent({ connections: 16, connectTimeout: config.timeout });
  }

  async send(event: HookEvent, requestHeaders: Record<string, string[]>): Promise<HookResponse> {
    const headers: Record<string, string | string[]> = { ...this.config.headers };
    for (const name of this.config.forwardHeaders) {
      const values = requestHeaders[canonicalHeaderName(name)];
      if (values && values.length > 0) headers[name] = values;
    }
    headers['content-type'] = 'application/json';
    const response = await request(this.config.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(event),
      dispatcher: this.#agent,
      headersTimeout: this.config.timeout,
      bodyTimeout: this.config.timeout,
      signal: AbortSignal.timeout(this.config.timeout),
    });
    if (response.statusCode < 200 || response.statusCode >= 300) {
      await response.body.dump();
      throw new Error(`hook endpoint answered ${response.statusCode}`);
    }
    // As tusd v2.9+: an answer is JSON by its Content-Type and its body, and a small one.
    const type = response.headers['content-type'];
    if (
      typeof type !== 'string' ||
      type.split(';')[0]?.trim().toLowerCase() !== 'application/json'
    ) {
      await response.body.dump();
      throw new Error(
        `hook endpoint answered Content-Type ${String(type).slice(0, 100)}, not application/json`,
      );
    }
    const text = await readLimited(response.body, this.config.sizeLimit);
    if (text.trim() === '') throw new Error('hook endpoint answered an empty body, not JSON');
    return parseHookAnswer(text);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** The body as text; an error once it is longer than `limit` bytes (the rest is not read). */
async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      body.destroy();
      throw new Error(`hook answer larger than sizeLimit (${limit} bytes)`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
