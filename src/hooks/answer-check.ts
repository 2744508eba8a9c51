import { validateHeaderName, validateHeaderValue } from 'node:http';
import { z } from 'zod';
import { canonicalHeaderName } from './header-names.ts';
import { HookRefusal, type HookSink } from './sinks/sink.ts';
import type { HookResponse } from './types.ts';

/**
 * Headers a hook may not set on the client's answer: they describe the connection or the body's
 * framing, which only the gateway knows (a hook's `Transfer-Encoding` beside the gateway's
 * `Content-Length` would make the response unreadable, or smuggle a second one).
 */
const framingHeaders: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/** Go's zero values (null maps, "", 0) mean "not set", as tusd reads them. */
const stringMap = z.record(z.string(), z.string()).nullish();

const headerMap = stringMap.superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers ?? {})) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `header ${JSON.stringify(name)} cannot be sent` });
    }
  }
});

const answerSchema = z.object({
  HTTPResponse: z
    .object({
      StatusCode: z.union([z.literal(0), z.number().int().min(100).max(599)]).nullish(),
      Body: z.string().nullish(),
      Header: headerMap,
    })
    .nullish(),
  RejectUpload: z.boolean().nullish(),
  RejectTermination: z.boolean().nullish(),
  ChangeFileInfo: z
    .object({ ID: z.string().nullish(), MetaData: stringMap, Storage: stringMap })
    .nullish(),
  StopUpload: z.boolean().nullish(),
});

/** A hook answer the gateway cannot act on (a header it could not send, a status that is none). */
export class InvalidHookAnswer extends Error {
  constructor(message: string) {
    super(`the hook answered something that cannot be used: ${message}`);
    this.name = 'InvalidHookAnswer';
  }
}

/**
 * Checks a decoded hook answer (answer.ts reads each sink's answer as tusd would) for what the
 * gateway will do with it, whatever sink it came from: throws InvalidHookAnswer when it could not
 * be sent to a client as is, and returns it with Go's zero values removed and the headers in
 * canonical case, without the framing headers (whose names are listed in `dropped`).
 */
export function checkHookAnswer(raw: unknown): { answer: HookResponse; dropped: string[] } {
  const parsed = answerSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new InvalidHookAnswer(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    );
  }
  const value = parsed.data;
  const answer: HookResponse = {};
  const dropped: string[] = [];
  if (value.RejectUpload) answer.RejectUpload = true;
  if (value.RejectTermination) answer.RejectTermination = true;
  if (value.StopUpload) answer.StopUpload = true;
  if (value.HTTPResponse) {
    const response: NonNullable<HookResponse['HTTPResponse']> = {};
    if (value.HTTPResponse.StatusCode) response.StatusCode = value.HTTPResponse.StatusCode;
    if (value.HTTPResponse.Body) response.Body = value.HTTPResponse.Body;
    if (value.HTTPResponse.Header) {
      const header: Record<string, string> = {};
      for (const [name, text] of Object.entries(value.HTTPResponse.Header)) {
        if (framingHeaders.has(name.toLowerCase())) dropped.push(name);
        else header[canonicalHeaderName(name)] = text;
      }
      response.Header = header;
    }
    answer.HTTPResponse = response;
  }
  if (value.ChangeFileInfo) {
    const { ID, MetaData, Storage } = value.ChangeFileInfo;
    const change: NonNullable<HookResponse['ChangeFileInfo']> = {};
    if (ID) change.ID = ID;
    if (MetaData) change.MetaData = MetaData;
    if (Storage) change.Storage = Storage;
    answer.ChangeFileInfo = change;
  }
  return { answer, dropped };
}

/**
 * The sink, its every answer checked (refusals included) before anyone acts on it: the one place
 * where an answer from any sink (http, amqp, file, grpc, …) becomes trusted; the runner wraps
 * every sink it creates. A refusal whose answer
 * cannot be used still refuses, without the unusable parts.
 */
export function withCheckedAnswers(
  sink: HookSink,
  onDropped: (sink: HookSink, headers: string[]) => void,
): HookSink {
  const check = (raw: unknown): HookResponse => {
    const { answer, dropped } = checkHookAnswer(raw);
    if (dropped.length > 0) onDropped(sink, dropped);
    return answer;
  };
  return {
    type: sink.type,
    name: sink.name,
    config: sink.config,
    async send(event, requestHeaders) {
      let raw: HookResponse;
      try {
        raw = await sink.send(event, requestHeaders);
      } catch (error) {
        if (!(error instanceof HookRefusal)) throw error;
        let answer: HookResponse;
        try {
          answer = check(error.answer);
        } catch {
          answer = { RejectUpload: true, RejectTermination: true };
        }
        throw new HookRefusal(error.message, {
          ...answer,
          RejectUpload: true,
          RejectTermination: true,
        });
      }
      return check(raw);
    },
    close: () => sink.close(),
  };
}
