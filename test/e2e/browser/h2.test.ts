import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import { sha256File, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { createTestCa } from '../../helpers/tls.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';
import { chromiumBinary, expectedSha256, type PageResult, startPageServer } from './page-server.ts';

const token = 'browser-h2-token-9c1e';

describe('a real browser uploads over HTTP/2 straight to tusgate (server.tls + server.http2)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let tusd: RunningTusd;
  let gw: RunningGateway;
  let pages: { server: Server; port: number };
  let browser: Browser;
  let handoffDir: string;

  before(async () => {
    if (!chromiumBinary) {
      throw new Error('chromium is not installed (apt-get install chromium; npm test does)');
    }
    dir = await tempDir('tusgate-browser-h2-');
    handoffDir = join(dir.path, 'handoff');
    await mkdir(handoffDir);
    const ca = await createTestCa(dir.path);
    const server = await ca.issue('server');
    tusd = await startTusd();
    pages = await startPageServer();
    const cors = { origins: [`http://127.0.0.1:${pages.port}`] };
    const auth = { type: 'static', tokens: { [token]: 'browser-user' } };
    gw = await startGateway({
      server: { tls: { cert: server.cert, key: server.key }, http2: true },
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
    browser = await puppeteer.launch({
      executablePath: chromiumBinary,
      headless: true,
      // Root cannot start Chromium's sandbox; the certificate is the test's own CA's.
      args: [
        '--no-sandbox',
        '--disable-dev-shm-usage',
        '--disable-gpu',
        '--ignore-certificate-errors',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await tusd?.stop();
    await new Promise((resolve) => pages?.server.close(resolve));
    await dir?.remove();
  });

  /** Runs the upload page; returns its result and the protocol of every answer from tusgate. */
  async function uploadInBrowser(
    query: Record<string, string | number>,
  ): Promise<{ result: PageResult; protocols: string[] }> {
    const page = await browser.newPage();
    try {
      const protocols: string[] = [];
      const cdp = await page.createCDPSession();
      await cdp.send('Network.enable');
      cdp.on('Network.responseReceived', (event) => {
        if (event.response.url.startsWith(gw.url)) protocols.push(event.response.protocol ?? '');
      });
      const reported = new Promise<PageResult>((resolve) => {
        void page.exposeFunction('reportResult', (json: string) => resolve(JSON.parse(json)));
      });
      const search = new URLSearchParams(
        Object.entries({ token, ...query }).map(([key, value]): [string, string] => [
          key,
          String(value),
        ]),
      );
      await page.goto(`http://127.0.0.1:${pages.port}/?${search}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the page reported nothing in 60 s')), 60_000);
      });
      try {
        return { result: await Promise.race([reported, timeout]), protocols };
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await page.close();
    }
  }

  for (const prefix of ['/files/', '/legacy/']) {
    test(`${prefix}: chunked and parallel uploads over h2 store the browser's file`, async () => {
      for (const [seed, extra] of [
        [prefix === '/files/' ? 51 : 52, { chunk: 1024 * 1024 }],
        [prefix === '/files/' ? 61 : 62, { parallel: 3 }],
      ] as const) {
        const size = 4 * 1024 * 1024 + 9;
        const { result, protocols } = await uploadInBrowser({
          endpoint: `${gw.url}${prefix}`,
          size,
          seed,
          ...extra,
        });
        assert.equal(result.ok, true, result.error);
        assert.equal(result.sha256, expectedSha256(seed, size));
        assert.ok(result.url?.startsWith(`${gw.url}${prefix}`), result.url);
        const id = result.url!.slice(result.url!.lastIndexOf('/') + 1);
        const stored = prefix === '/files/' ? join(handoffDir, id) : join(tusd.dir, id);
        assert.equal(await sha256File(stored), result.sha256);
        assert.ok(protocols.length >= 2, `answers seen: ${protocols.join(', ')}`);
        assert.ok(
          protocols.every((protocol) => protocol === 'h2'),
          `protocols: ${protocols.join(', ')}`,
        );
      }
    });
  }
});
