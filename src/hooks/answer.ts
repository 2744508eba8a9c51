import { z } from 'zod';
import type { HookResponse } from './types.ts';

/**
 * The one place where what a hook answered (HTTP or file: its JSON; gRPC: its HookResponse
 * message, in the same shape) becomes a HookResponse. It reads the answer as tusd v2 does, which
 * decodes it into a typed Go struct: field names match case-insensitively (`rejectUpload` is
 * `RejectUpload`), `null` is the same as absent, unknown fields are ignored, and a known field of
 * the wrong type makes the whole answer an error. The last point protects users: a pre-create hook
 * answering `"RejectUpload": "true"` has not accepted the upload, it has failed.
 */

const strings = z.record(z.string(), z.string());

/** tusd's field names, as the Go structs spell them. */
const fields = {
  answer: ['HTTPResponse', 'RejectUpload', 'RejectTermination', 'ChangeFileInfo', 'StopUpload'],
  response: ['StatusCode', 'Body', 'Header'],
  changes: ['ID', 'MetaData', 'Storage'],
} as const;

const httpResponse = z.strictObject({
  StatusCode: z.int().optional(),
  Body: z.string().optional(),
  Header: strings.optional(),
});

const changes = z.strictObject({
  ID: z.string().optional(),
  MetaData: strings.optional(),
  Storage: strings.optional(),
});

const answer = z.strictObject({
  HTTPResponse: httpResponse.optional(),
  RejectUpload: z.boolean().optional(),
  RejectTermination: z.boolean().optional(),
  ChangeFileInfo: changes.optional(),
  StopUpload: z.boolean().optional(),
});

/** A decoded hook answer (any JSON value) as a HookResponse; throws when tusd would refuse it. */
export function hookAnswerFrom(value: unknown): HookResponse {
  if (value === null) return {};
  const object = asObject(value, fields.answer, 'the hook answer');
  for (const [key, names] of [
    ['HTTPResponse', fields.response],
    ['ChangeFileInfo', fields.changes],
  ] as const) {
    if (object[key] !== undefined) object[key] = asObject(object[key], names, key);
  }
  const result = answer.safeParse(object);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(
      `the hook answer is not tusd's HookResponse: ${issue?.path.join('.') || '(top)'}: ${issue?.message}`,
    );
  }
  return result.data as HookResponse;
}

/**
 * The known fields of a JSON object under their canonical names (Go's case-insensitive match: an
 * exact match wins), `null` values dropped; other keys left out.
 */
function asObject(value: unknown, names: readonly string[], what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} is not a JSON object`);
  }
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const key =
      name in source
        ? name
        : Object.keys(source).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (key !== undefined && source[key] !== null) out[name] = source[key];
  }
  return out;
}
