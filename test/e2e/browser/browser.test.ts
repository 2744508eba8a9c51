import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import { sha256File, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { type RunningNginx, startNginx } from '../../helpers/nginx.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';
import { chromiumBinary, expectedSha256, type PageResult, startPageServer } from './page-server.ts';

const token = 'browser-token-3f9a1c7e';

describe('a real browser uploads with tus-js-client through nginx → tusgate', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let tusd: RunningTusd;
  let gw: RunningGateway;
  let nginx: RunningNginx;
  let pages: { server: Server; port: number };
  let browser: Browser;
  let handoffDir: string;

  before(async () => {
    if (!chromiumBinary) {
      throw new Error('chromium is not installed (apt-get install chromium; npm test does)');
    }
    dir = await tempDir('tusgate-browser-');
    handoffDir = join(dir.path, 'handoff');
    await mkdir(handoffDir);
    tusd = await startTusd();
    pages = await startPageServer();
    const cors = { origins: [`http://127.0.0.1:${pages.port}`] };
    const auth = { type: 'static', tokens: { [token]: 'browser-user' } };
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store'), handoffDir } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          auth,
          cors,
          backends: { native: { type: 'native', store: 'main' } },
        },
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          auth,
          cors,
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
    nginx = await startNginx(join(dir.path, 'nginx'), Number(new URL(gw.url).port));
    browser = await puppeteer.launch({
      executablePath: chromiumBinary,
      headless: true,
      // The tests run as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
  });

  after(async () => {
    await browser?.close();
    await nginx?.stop();
    await gw?.stop();
    await tusd?.stop();
    await new Promise((resolve) => pages?.server.close(resolve));
    await dir?.remove();
  });

  /** Opens the page on `pageOrigin` and waits for the result it reports (across its own reloads). */
  async function uploadInBrowser(
    pageOrigin: string,
    query: Record<string, string | number>,
  ): Promise<PageResult> {
    const page = await browser.newPage();
    try {
      const reported = new Promise<PageResult>((resolve) => {
        void page.exposeFunction('reportResult', (json: string) => resolve(JSON.parse(json)));
      });
      const search = new URLSearchParams(
        Object.entries({ token, ...query }).map(([key, value]): [string, string] => [
          key,
          String(value),
        ]),
      );
      await page.goto(`${pageOrigin}/?${search}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the page reported nothing in 60 s')), 60_000);
      });
      try {
        return await Promise.race([reported, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await page.close();
    }
  }

  const allowedOrigin = () => `http://127.0.0.1:${pages.port}`;
  const endpoint = (prefix: string) => `http://127.0.0.1:${nginx.port}${prefix}`;

  const storedFile = (prefix: string, url: string) => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return prefix === '/files/' ? join(handoffDir, id) : join(tusd.dir, id);
  };

  for (const prefix of ['/files/', '/legacy/']) {
    test(`${prefix}: a single cross-origin upload; the stored file is the browser's file`, async () => {
      const size = 3 * 1024 * 1024 + 7;
      const seed = prefix === '/files/' ? 11 : 12;
      const result = await uploadInBrowser(allowedOrigin(), {
        endpoint: endpoint(prefix),
        size,
        seed,
      });
      assert.equal(result.ok, true, result.error);
      assert.equal(result.sha256, expectedSha256(seed, size));
      assert.ok(result.url?.startsWith(endpoint(prefix)), `${result.url} names nginx`);
      assert.equal(await sha256File(storedFile(prefix, result.url!)), result.sha256);
    });

    test(`${prefix}: parallelUploads: 3 (concatenation) stores the whole file`, async () => {
      const size = 5 * 1024 * 1024 + 3;
      const seed = prefix === '/files/' ? 21 : 22;
      const result = await uploadInBrowser(allowedOrigin(), {
        endpoint: endpoint(prefix),
        size,
        seed,
        parallel: 3,
      });
      assert.equal(result.ok, true, result.error);
      assert.equal(result.sha256, expectedSha256(seed, size));
      assert.equal(await sha256File(storedFile(prefix, result.url!)), result.sha256);
    });

    test(`${prefix}: a page reload in the middle resumes via findPreviousUploads`, async () => {
      const size = 8 * 1024 * 1024;
      const chunk = 512 * 1024;
      const seed = prefix === '/files/' ? 31 : 32;
      const result = await uploadInBrowser(allowedOrigin(), {
        endpoint: endpoint(prefix),
        size,
        seed,
        chunk,
        reloadAfter: 2 * chunk,
      });
      assert.equal(result.ok, true, result.error);
      assert.equal(result.stage, 'resumed', 'the upload finished after the reload');
      const resumedFrom = result.heads?.[0] ?? 0;
      assert.ok(resumedFrom >= 2 * chunk, `resumed at ${resumedFrom}, not from the start`);
      assert.equal(result.sha256, expectedSha256(seed, size));
      assert.equal(await sha256File(storedFile(prefix, result.url!)), result.sha256);
    });
  }

  test('a page on an origin that is not allowed cannot upload', async () => {
    // Same server, other origin: `localhost` is not in the route's CORS list.
    const createdBefore = gw
      .logs()
      .filter((line) => line.method === 'POST' && line.status === 201).length;
    const result = await uploadInBrowser(`http://localhost:${pages.port}`, {
      endpoint: endpoint('/files/'),
      size: 1024,
      seed: 41,
    });
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /failed to create upload/);
    const refusals = gw.logs().filter((line) => line.error === 'TUSGATE_ERR_CORS_ORIGIN');
    assert.ok(refusals.length > 0, 'tusgate refused the origin itself');
    assert.ok(refusals.every((line) => line.status === 403));
    const created = gw.logs().filter((line) => line.method === 'POST' && line.status === 201);
    assert.equal(created.length, createdBefore, 'no upload was created');
  });
});
