import { Agent, request } from 'undici';
import type { HookConfig } from '../../config/schema/hooks.ts';
import { canonicalHeaderName } from '../header-names.ts';
import type { HookEvent, HookResponse } from '../types.ts';
import { type HookSink, parseHookAnswer } from './sink.ts';

type HttpHookConfig = Extract<HookConfig, { type: 'http' }>;

/**
 * tusd's HTTP hooks: a POST of the hook JSON, forwarded client headers set on the request itself,
 * a 2xx answer whose JSON body (if any) is the hook's response; anything else is a failure.
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
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(`hook endpoint answered ${response.statusCode}`);
    }
    return parseHookAnswer(text);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
