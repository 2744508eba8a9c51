import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hookAnswerFrom } from '../../../src/hooks/answer.ts';
import { parseHookAnswer } from '../../../src/hooks/sinks/sink.ts';

test('tusd field names are matched case-insensitively; an exact match wins', () => {
  assert.deepEqual(
    hookAnswerFrom({
      rejectupload: true,
      httpresponse: { statuscode: 413, BODY: 'quota', header: { 'X-Quota': '0' } },
      changeFileInfo: { id: 'x', metadata: { a: 'b' } },
    }),
    {
      RejectUpload: true,
      HTTPResponse: { StatusCode: 413, Body: 'quota', Header: { 'X-Quota': '0' } },
      ChangeFileInfo: { ID: 'x', MetaData: { a: 'b' } },
    },
  );
  assert.deepEqual(hookAnswerFrom({ stopupload: false, StopUpload: true }), { StopUpload: true });
});

test('null is absent and unknown fields are ignored, as Go decodes them', () => {
  assert.deepEqual(hookAnswerFrom(null), {});
  assert.deepEqual(
    hookAnswerFrom({ HTTPResponse: null, RejectUpload: null, Extra: [1], ChangeFileInfo: {} }),
    { ChangeFileInfo: {} },
  );
});

test('a known field of the wrong type makes the answer an error', () => {
  for (const answer of [
    { RejectUpload: 'true' },
    { StopUpload: 1 },
    { HTTPResponse: { StatusCode: '413' } },
    { HTTPResponse: { StatusCode: 413.5 } },
    { HTTPResponse: { Header: { 'X-A': 1 } } },
    { HTTPResponse: 'no' },
    { ChangeFileInfo: { MetaData: ['a'] } },
    { ChangeFileInfo: { ID: 7 } },
    [],
    'ok',
    3,
  ]) {
    assert.throws(
      () => hookAnswerFrom(answer),
      /HookResponse|not a JSON object/,
      JSON.stringify(answer),
    );
  }
});

test('a file hook may print nothing; text that is not JSON is an error', () => {
  assert.deepEqual(parseHookAnswer(''), {});
  assert.deepEqual(parseHookAnswer(' \n'), {});
  assert.deepEqual(parseHookAnswer('{"rejectUpload":true}'), { RejectUpload: true });
  assert.throws(() => parseHookAnswer('<html>'), SyntaxError);
});
