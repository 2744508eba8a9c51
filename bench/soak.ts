/**
 * `npm run bench:soak`: mixed tus traffic at a fixed concurrency against a tusgate process with a
 * native route and a route proxied to real tusd, for SOAK_MINUTES (10). Every SOAK_SAMPLE_SECONDS
 * (10) it samples the gateway's RSS, heap, open file descriptors and event-loop lag, and at the
 * end prints each series' slope: a leak shows as growth beyond the noise.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../test/helpers/files.ts';
import { startGatewayServer, startTusdServer } from './lib/servers.ts';

const minutes = Number(process.env.SOAK_MINUTES ?? 10);
const sampleSeconds = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
const concurrency = Number(process.env.SOAK_CONCURRENCY ?? 12);
const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { 'Content-Type': 'application/offset+octet-stream' };
const block = Buffer.alloc(256 * 1024, 0x42);

interface Answer {
  /** The HTTP status, or the client-side error code when no answer came. */
  status: number | string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request; the body is `bodyBytes` bytes written `piece` at a time, `pauseMs` apart. */
function send(
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body: { bytes: number; piece?: number; pauseMs?: number; abortAfter?: number } = { bytes: 0 },
): Promise<Answer | 'aborted'> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', (error) =>
      body.abortAfter !== undefined ? resolve('aborted') : reject(error),
    );
    let sent = 0;
    const pump = async () => {
      while (sent < body.bytes) {
        if (body.abortAfter !== undefined && sent >= body.abortAfter) {
          req.destroy();
          return;
        }
        const size = Math.min(body.piece ?? block.length, block.length, body.bytes - sent);
        sent += size;
        if (!req.write(block.subarray(0, size))) await new Promise((r) => req.once('drain', r));
        if (body.pauseMs) await sleep(body.pauseMs);
      }
      req.end();
    };
    void pump();
  });
}

class Traffic {
  readonly counts = new Map<string, number>();
  readonly unexpected = new Map<string, number>();
  readonly #agent = new Agent({ keepAlive: true, maxSockets: concurrency * 2 });

  count(what: string, map = this.counts) {
    map.set(what, (map.get(what) ?? 0) + 1);
  }

  async expect(
    what: string,
    answer: Promise<Answer | 'aborted'>,
    ...statuses: number[]
  ): Promise<Answer | 'aborted'> {
    const got = await answer.catch((error: NodeJS.ErrnoException) => ({
      status: error.code ?? 'error',
      headers: {},
    }));
    if (got === 'aborted') return got;
    this.count(what);
    if (typeof got.status !== 'number' || !statuses.includes(got.status)) {
      this.count(`${what} → ${got.status}`, this.unexpected);
    } else if (got.status !== statuses[0]) this.count(`${what} → ${got.status}`);
    return got;
  }

  async create(endpoint: string, size: number): Promise<string | undefined> {
    const answer = await this.expect(
      'POST',
      send(this.#agent, endpoint, 'POST', { ...tus, 'Upload-Length': String(size) }),
      201,
    );
    const location = answer !== 'aborted' && answer.headers.location;
    return typeof location === 'string' ? new URL(location, endpoint).href : undefined;
  }

  async head(url: string): Promise<number> {
    const route = url.includes('/legacy/') ? 'proxied' : 'native';
    const answer = await this.expect(`HEAD ${route}`, send(this.#agent, url, 'HEAD', tus), 200);
    if (answer === 'aborted') return 0;
    return Number(answer.headers['upload-offset'] ?? 0);
  }

  patch(
    url: string,
    offset: number,
    bytes: number,
    pacing: { piece?: number; pauseMs?: number } = {},
    statuses = [204],
  ) {
    const headers = {
      ...tus,
      ...octets,
      'Upload-Offset': String(offset),
      'Content-Length': String(bytes),
    };
    const answer = send(this.#agent, url, 'PATCH', headers, { ...pacing, bytes });
    return this.expect('PATCH', answer, ...statuses);
  }

  async terminate(url: string) {
    await this.expect('DELETE', send(this.#agent, url, 'DELETE', tus), 204);
  }

  /** A chunked upload with a HEAD before each chunk, as a resuming client does. */
  async chunkedUpload(endpoint: string) {
    const size = 16 * 1024 + Math.floor(Math.random() * 2 * 1024 * 1024);
    const url = await this.create(endpoint, size);
    if (!url) return;
    for (let offset = 0; offset < size; ) {
      offset = await this.head(url);
      const chunk = Math.min(256 * 1024, size - offset);
      if (chunk <= 0) break;
      await this.patch(url, offset, chunk);
    }
    await this.terminate(url);
  }

  /** The client goes away mid-body, comes back, asks where it was and finishes. */
  async abortedUpload(endpoint: string) {
    const size = 1024 * 1024;
    const url = await this.create(endpoint, size);
    if (!url) return;
    await send(
      this.#agent,
      url,
      'PATCH',
      { ...tus, ...octets, 'Upload-Offset': '0', 'Content-Length': String(size) },
      { bytes: size, abortAfter: 300 * 1024 },
    ).catch(() => {});
    this.count('aborted PATCH');
    // The server may still be writing what the aborted PATCH sent: a 409 (offset moved on) or
    // 423 (still locked) sends a tus client back to HEAD, as here.
    for (let attempt = 0; attempt < 5; attempt++) {
      const offset = await this.head(url);
      const answer = await this.patch(url, offset, size - offset, undefined, [204, 409, 423]);
      if (answer === 'aborted' || answer.status === 204) break;
    }
    await this.terminate(url);
  }

  /** A slow client: 4 KiB every 200 ms. */
  async slowUpload(endpoint: string) {
    const size = 64 * 1024;
    const url = await this.create(endpoint, size);
    if (!url) return;
    await this.patch(url, 0, size, { piece: 4096, pauseMs: 200 });
    await this.terminate(url);
  }

  close() {
    this.#agent.destroy();
  }
}

interface Sample {
  seconds: number;
  rssMiB: number;
  heapMiB: number;
  openFds: number;
  lagP99Ms: number;
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((each) => each.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}

async function sample(pid: number, adminUrl: string, startedAt: number): Promise<Sample> {
  const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return {
    seconds: (performance.now() - startedAt) / 1000,
    rssMiB: rssKiB / 1024,
    heapMiB: metricValue(metrics, 'tusgate_nodejs_heap_size_used_bytes') / 2 ** 20,
    openFds: readdirSync(`/proc/${pid}/fd`).length,
    lagP99Ms: metricValue(metrics, 'tusgate_nodejs_eventloop_lag_p99_seconds') * 1000,
  };
}

/**
 * Theil–Sen slope (per second; the median of all pairwise slopes, so a single garbage-collection
 * excursion cannot tilt it) and the noise around it (1.4826 × the median absolute residual).
 */
function fit(xs: number[], ys: number[]): { slope: number; noise: number; mean: number } {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  };
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      if (xs[j] !== xs[i]) slopes.push((ys[j]! - ys[i]!) / (xs[j]! - xs[i]!));
    }
  }
  const slope = slopes.length > 0 ? median(slopes) : 0;
  const intercept = median(ys.map((y, i) => y - slope * xs[i]!));
  const noise = 1.4826 * median(ys.map((y, i) => Math.abs(y - intercept - slope * xs[i]!)));
  return { slope, noise, mean: ys.reduce((sum, y) => sum + y, 0) / Math.max(1, ys.length) };
}

export async function runSoakBenchmark(): Promise<boolean> {
  const dir = await tempDir('tusgate-soak-');
  const tusd = await startTusdServer(join(dir.path, 'tusd'));
  const gateway = await startGatewayServer(
    join(dir.path, 'gateway'),
    [
      {
        name: 'native',
        match: { pathPrefix: '/files/' },
        backends: { native: { type: 'native', store: 'main' } },
      },
      {
        name: 'proxied',
        match: { pathPrefix: '/legacy/' },
        backends: { tusd: { type: 'tusd', url: tusd.endpoint } },
      },
    ],
    { main: { type: 'date-sharded', root: join(dir.path, 'store'), expiresAfter: '1d' } },
  );
  const origin = new URL(gateway.endpoint).origin;
  const endpoints = [`${origin}/files/`, `${origin}/legacy/`];
  console.log(
    `soak: ${minutes} min, ${concurrency} clients, native and proxied routes, sampling every ${sampleSeconds} s`,
  );
  const traffic = new Traffic();
  const startedAt = performance.now();
  const deadline = startedAt + minutes * 60_000;
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const each = await sample(gateway.pid!, gateway.adminUrl!, startedAt);
      samples.push(each);
      console.log(
        `  t=${each.seconds.toFixed(0)}s rss ${each.rssMiB.toFixed(1)} MiB, heap ${each.heapMiB.toFixed(1)} MiB, fds ${each.openFds}, lag p99 ${each.lagP99Ms.toFixed(1)} ms`,
      );
      await sleep(sampleSeconds * 1000);
    }
  })();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let round = 0; performance.now() < deadline; round++) {
        const endpoint = endpoints[(worker + round) % endpoints.length]!;
        const dice = Math.random();
        if (dice < 0.55) await traffic.chunkedUpload(endpoint);
        else if (dice < 0.8) await traffic.abortedUpload(endpoint);
        else await traffic.slowUpload(endpoint);
      }
    }),
  );
  sampling = false;
  await sampler;
  traffic.close();
  await gateway.stop();
  await tusd.stop();
  await dir.remove();

  console.log(`  requests: ${JSON.stringify(Object.fromEntries(traffic.counts))}`);
  const unexpected = Object.fromEntries(traffic.unexpected);
  console.log(`  unexpected answers: ${JSON.stringify(unexpected)}`);
  // The first minute warms caches and pools up; the slope is taken over the rest. Heap and RSS
  // saw-tooth with garbage collection, so each series is reduced to its floor per minute (the
  // value after a collection) before fitting: a leak lifts the floor, a late excursion does not.
  const steady = samples.filter((each) => each.seconds >= Math.min(60, (minutes * 60) / 4));
  const windowSeconds = Math.max(sampleSeconds * 3, 60);
  let flat = true;
  console.log('  series     floor mean   slope/10min   noise (σ)   verdict');
  for (const key of ['rssMiB', 'heapMiB', 'openFds', 'lagP99Ms'] as const) {
    const floors = new Map<number, { seconds: number; value: number }>();
    for (const each of steady) {
      const window = Math.floor(each.seconds / windowSeconds);
      const floor = floors.get(window);
      if (!floor || each[key] < floor.value)
        floors.set(window, { seconds: each.seconds, value: each[key] });
    }
    const points = [...floors.values()];
    const { slope, noise, mean } = fit(
      points.map((point) => point.seconds),
      points.map((point) => point.value),
    );
    const growth = slope * 600;
    const verdict = growth <= Math.max(2 * noise, 0.05 * mean) ? 'flat' : 'GROWS';
    if (verdict !== 'flat') flat = false;
    console.log(
      `  ${key.padEnd(10)} ${mean.toFixed(1).padStart(8)} ${growth.toFixed(2).padStart(12)} ${noise.toFixed(2).padStart(11)}   ${verdict}`,
    );
  }
  return flat && Object.keys(unexpected).length === 0;
}

if (import.meta.main) {
  const ok = await runSoakBenchmark();
  process.exitCode = ok ? 0 : 1;
}
