import assert from 'node:assert/strict';

const tus = { 'Tus-Resumable': '1.0.0' };

export interface RefusedCase {
  name: string;
  headers: Record<string, string>;
  status: 401 | 403 | 503;
  /** Expected WWW-Authenticate (bearer schemes), or undefined when none must be sent. */
  challenge?: RegExp;
}

/** Creates an upload with `headers` and returns its URL. */
export async function createUpload(
  collection: string,
  headers: Record<string, string>,
  length = 10,
): Promise<string> {
  const response = await fetch(collection, {
    method: 'POST',
    headers: { ...tus, ...headers, 'Upload-Length': String(length) },
  });
  assert.equal(
    response.status,
    201,
    `creation answered ${response.status}: ${await response.text()}`,
  );
  return new URL(response.headers.get('location') ?? '', collection).href;
}

/**
 * The whole life of an upload with good credentials (POST, HEAD, PATCH, DELETE), then every
 * method with each refused credential case: the status, a tus-style body and the challenge.
 */
export async function assertAuthOnEveryMethod(
  collection: string,
  good: Record<string, string>,
  refused: RefusedCase[],
): Promise<void> {
  const uploadUrl = await createUpload(collection, good, 10);
  const head = await fetch(uploadUrl, { method: 'HEAD', headers: { ...tus, ...good } });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('upload-offset'), '0');

  const options = await fetch(collection, { method: 'OPTIONS', headers: tus });
  assert.ok(options.status === 200 || options.status === 204, `OPTIONS ${options.status}`);

  for (const refusal of refused) {
    const requests: [string, string, Record<string, string>, string | undefined][] = [
      ['POST', collection, { 'Upload-Length': '10' }, undefined],
      ['HEAD', uploadUrl, {}, undefined],
      [
        'PATCH',
        uploadUrl,
        { 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
        'hello',
      ],
      ['DELETE', uploadUrl, {}, undefined],
    ];
    for (const [method, url, extra, body] of requests) {
      const response = await fetch(url, {
        method,
        headers: { ...tus, ...refusal.headers, ...extra },
        body,
      });
      const label = `${refusal.name}: ${method}`;
      assert.equal(response.status, refusal.status, label);
      if (method !== 'HEAD') {
        assert.match(await response.text(), /^TUSGATE_ERR_[A-Z_]+: [a-z ]+\n$/, label);
      }
      assert.equal(response.headers.get('tus-resumable'), '1.0.0', label);
      const challenge = response.headers.get('www-authenticate');
      if (refusal.challenge) assert.match(challenge ?? '', refusal.challenge, label);
      else assert.equal(challenge, null, label);
    }
  }

  // Nothing the refused requests sent reached the upload.
  const after = await fetch(uploadUrl, { method: 'HEAD', headers: { ...tus, ...good } });
  assert.equal(after.status, 200);
  assert.equal(after.headers.get('upload-offset'), '0');
  const patch = await fetch(uploadUrl, {
    method: 'PATCH',
    headers: {
      ...tus,
      ...good,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
    },
    body: '0123456789',
  });
  assert.equal(patch.status, 204);
  assert.equal(patch.headers.get('upload-offset'), '10');
  const removed = await fetch(uploadUrl, { method: 'DELETE', headers: { ...tus, ...good } });
  assert.equal(removed.status, 204);
}
