import type { HookConfig } from '../../config/schema/hooks.ts';
import { hookAnswerFrom } from '../answer.ts';
import type { HookEvent, HookResponse } from '../types.ts';

/** One configured hook receiver. `send` resolves with its answer or rejects when it failed. */
export interface HookSink {
  readonly type: HookConfig['type'];
  /** Label for logs and metrics: `<type>#<index in the route's hooks>`. */
  readonly name: string;
  readonly config: HookConfig;
  /** Client headers of the request, for sinks that forward some. */
  send(event: HookEvent, requestHeaders: Record<string, string[]>): Promise<HookResponse>;
  close(): Promise<void>;
}

/** A hook that answered "no" in its own way (file hooks: a non-zero exit). */
export class HookRefusal extends Error {
  readonly answer: HookResponse;

  constructor(message: string, answer: HookResponse) {
    super(message);
    this.name = 'HookRefusal';
    this.answer = answer;
  }
}

/**
 * Reads a hook's JSON answer (file hooks: empty is `{}`). Anything that is not JSON, or not tusd's
 * HookResponse, is an error (src/hooks/answer.ts).
 */
export function parseHookAnswer(text: string): HookResponse {
  if (text.trim() === '') return {};
  return hookAnswerFrom(JSON.parse(text));
}
