import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const publicBase = '/api/upload/resumable_upload/';

interface Exchange {
  step: string;
  status: number;
  headers: Record<string, string>;
}

interface Step {
  step: string;
  method: string;
  /** `base` is the collection URL; `@name` is an upload URL created by an earlier step. */
  target: string;
  headers?: Record<string, string>;
  body?: string;
  /** Remember the Location answered under this name. */
  saveAs?: string;
}

const tus = { 'Tus-Resumable': '1.0.0' };
const patchHeaders = (offset: number) => ({
  ...tus,
  'Upload-Offset': String(offset),
  'Content-Type': 'application/offset+octet-stream',
});

const sequence: Step[] = [
  { step: 'OPTIONS', method: 'OPTIONS', target: 'base', headers: tus },
  {
    step: 'POST with Upload-Length',
    method: 'POST',
    target: 'base',
    headers: { ...tus, 'Upload-Length': '10', 'Upload-Metadata': 'filename dGVzdC50eHQ=' },
    saveAs: 'a',
  },
  { step: 'POST without Upload-Length', method: 'POST', target: 'base', headers: tus },
  {
    step: 'POST deferred length',
    method: 'POST',
    target: 'base',
    headers: { ...tus, 'Upload-Defer-Length': '1' },
    saveAs: 'deferred',
  },
  { step: 'HEAD new upload', method: 'HEAD', target: '@a', headers: tus },
  { step: 'HEAD deferred', method: 'HEAD', target: '@deferred', headers: tus },
  {
    step: 'PATCH right offset',
    method: 'PATCH',
    target: '@a',
    headers: patchHeaders(0),
    body: 'hello',
  },
  {
    step: 'PATCH wrong offset',
    method: 'PATCH',
    target: '@a',
    headers: patchHeaders(0),
    body: 'again',
  },
  {
    step: 'PATCH wrong Content-Type',
    method: 'PATCH',
    target: '@a',
    headers: { ...patchHeaders(5), 'Content-Type': 'text/plain' },
    body: 'world',
  },
  {
    step: 'PATCH missing Tus-Resumable',
    method: 'PATCH',
    target: '@a',
    headers: { 'Upload-Offset': '5', 'Content-Type': 'application/offset+octet-stream' },
    body: 'world',
  },
  {
    step: 'PATCH finishing',
    method: 'PATCH',
    target: '@a',
    headers: patchHeaders(5),
    body: 'world',
  },
  { step: 'HEAD finished', method: 'HEAD', target: '@a', headers: tus },
  { step: 'GET download', method: 'GET', target: '@a', headers: tus },
  { step: 'DELETE', method: 'DELETE', target: '@a', headers: tus },
  { step: 'HEAD after DELETE', method: 'HEAD', target: '@a', headers: tus },
  {
    step: 'POST partial 1',
    method: 'POST',
    target: 'base',
    headers: { ...tus, 'Upload-Length': '3', 'Upload-Concat': 'partial' },
    saveAs: 'p1',
  },
  {
    step: 'POST partial 2',
    method: 'POST',
    target: 'base',
    headers: { ...tus, 'Upload-Length': '3', 'Upload-Concat': 'partial' },
    saveAs: 'p2',
  },
  {
    step: 'PATCH partial 1',
    method: 'PATCH',
    target: '@p1',
    headers: patchHeaders(0),
    body: 'abc',
  },
  {
    step: 'PATCH partial 2',
    method: 'PATCH',
    target: '@p2',
    headers: patchHeaders(0),
    body: 'def',
  },
  {
    step: 'POST final (absolute URLs)',
    method: 'POST',
    target: 'base',
    headers: { ...tus, 'Upload-Concat': 'final;@p1 @p2' },
    saveAs: 'final',
  },
  {
    step: 'POST final (relative paths)',
    method: 'POST',
    target: 'base',
    headers: { ...tus, 'Upload-Concat': 'final;@@p1 @@p2' },
    saveAs: 'final2',
  },
  { step: 'HEAD final', method: 'HEAD', target: '@final', headers: tus },
  { step: 'HEAD partial', method: 'HEAD', target: '@p1', headers: tus },
  { step: 'PATCH final', method: 'PATCH', target: '@final', headers: patchHeaders(6), body: 'x' },
];

/** Headers that make up the tus conversation. */
function tusHeaders(method: string, headers: Record<string, string | string[] | undefined>) {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const relevant =
      name.startsWith('tus-') ||
      name.startsWith('upload-') ||
      name === 'location' ||
      (method === 'HEAD' && name === 'cache-control');
    if (relevant) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Runs the sequence against one base URL. Upload URLs are replaced by `<name>` placeholders so two
 * runs against servers with different origins, base paths and ids can be compared.
 */
async function run(baseUrl: string): Promise<Exchange[]> {
  const origin = new URL(baseUrl).origin;
  const urls = new Map<string, string>();
  const normalise = (text: string) => {
    let out = text;
    for (const [name, url] of urls) out = out.replaceAll(url, `<${name}>`);
    return out;
  };
  const resolve = (text: string) =>
    text
      .replace(/@@(\w+)/g, (_m, name: string) => new URL(urls.get(name) as string).pathname)
      .replace(/@(\w+)/g, (_m, name: string) => urls.get(name) as string);
  const exchanges: Exchange[] = [];
  for (const step of sequence) {
    const target = step.target === 'base' ? baseUrl : resolve(step.target);
    const headers = Object.fromEntries(
      Object.entries(step.headers ?? {}).map(([key, value]) => [key, resolve(value)]),
    );
    const response = await request(target, {
      method: step.method as 'GET',
      headers,
      body: step.body,
    });
    await response.body.dump();
    const relevant = tusHeaders(step.method, response.headers);
    if (step.saveAs && relevant.location) {
      urls.set(step.saveAs, new URL(relevant.location, origin).href);
    }
    for (const [key, value] of Object.entries(relevant)) relevant[key] = normalise(value);
    exchanges.push({ step: step.step, status: response.statusCode, headers: relevant });
  }
  return exchanges;
}

/** Steps the gateway answers itself, stricter than tusd, and its status. */
const stricterThanTusd = new Map([
  // tus 1.0.0: a PATCH of another Content-Type SHOULD be a 415 (tusd answers 400).
  ['PATCH wrong Content-Type', 415],
]);

describe('the gateway is transparent to a tusd conversation', () => {
  let tusd: RunningTusd;
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    gw = await startGateway({
      routes: [
        {
          name: 'uploads',
          match: { pathPrefix: publicBase },
          backends: { legacy: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
  });

  after(async () => {
    await gw?.stop();
    await tusd?.stop();
  });

  test('status codes and tus headers match direct tusd, URLs compared after mapping', async () => {
    const direct = await run(tusd.url);
    const proxied = await run(`${gw.url}${publicBase}`);
    assert.equal(proxied.length, direct.length);
    for (let index = 0; index < direct.length; index++) {
      const want = direct[index] as Exchange;
      const got = proxied[index] as Exchange;
      const strict = stricterThanTusd.get(want.step);
      if (strict !== undefined) {
        // Where tusd is lax, the gateway answers as tus 1.0.0 says, before tusd sees the request.
        assert.equal(got.status, strict, `${want.step}: status`);
        continue;
      }
      assert.equal(got.status, want.status, `${want.step}: status`);
      const expected = { ...want.headers };
      // tus 1.0.0: a 412 MUST carry Tus-Version; tusd leaves it out, the gateway answers it itself.
      if (want.status === 412) expected['tus-version'] = '1.0.0';
      assert.deepEqual(got.headers, expected, `${want.step}: tus headers`);
    }
    // The sequence really exercised what it claims to.
    const byStep = new Map(direct.map((exchange) => [exchange.step, exchange]));
    assert.equal(byStep.get('PATCH wrong offset')?.status, 409);
    assert.equal(byStep.get('PATCH missing Tus-Resumable')?.status, 412);
    assert.equal(byStep.get('HEAD after DELETE')?.status, 404);
    assert.equal(byStep.get('POST final (absolute URLs)')?.status, 201);
    assert.equal(byStep.get('POST final (relative paths)')?.status, 201);
    assert.equal(byStep.get('HEAD final')?.headers['upload-concat'], 'final;<p1> <p2>');
  });
});
