/**
 * HTTP/2 against HTTP/1.1, both over TLS terminated by tusgate (server.tls + server.http2), and
 * plain HTTP/1.1 (no TLS) for what TLS itself costs. One tusgate process with TLS serves both the
 * h2 and the HTTPS/1.1 client (ALPN picks); a second, without TLS, the plain one. Native store.
 * The clients take turns in each round; medians of BENCH_ROUNDS (3). Measures one upload of
 * BENCH_LARGE_MIB (1024) as a single streaming PATCH: MiB/s and the gateway's CPU-seconds per GiB
 * (from /proc); and 100 HEADs of one upload, one after the other on one connection and all at once
 * (h2: one connection; HTTP/1.1: a keep-alive pool of up to 100 sockets): HEADs per second.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { type ClientHttp2Session, connect } from 'node:http2';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/files.ts';
import { createTestCa } from '../test/helpers/tls.ts';
import { treeCpuSeconds } from './lib/proc.ts';
import { type Server, startGatewayServer } from './lib/servers.ts';
import { printTable } from './lib/table.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const largeBytes = env('BENCH_LARGE_MIB', 1024) * 2 ** 20;
const rounds = env('BENCH_ROUNDS', 3);
const heads = 100;
const block = Buffer.alloc(1024 * 1024, 0x5a);
const tus = { 'tus-resumable': '1.0.0' };

interface Answer {
  status: number;
  location?: string;
}

/** The operations a client needs, over whichever protocol it speaks. */
interface Client {
  name: string;
  server: Server;
  send: (
    method: string,
    url: string,
    headers: Record<string, string>,
    bytes?: number,
  ) => Promise<Answer>;
  close: () => void;
  large: { mibPerSecond: number; cpuPerGiB: number }[];
  sequentialHeads: number[];
  parallelHeads: number[];
}

/** Writes `bytes` of the 1 MiB block to `out`, waiting for 'drain' whenever it asks. */
function pump(out: NodeJS.WritableStream, bytes: number): void {
  let left = bytes;
  const next = () => {
    while (left > 0) {
      const chunk = left >= block.length ? block : block.subarray(0, left);
      left -= chunk.length;
      if (!out.write(chunk)) {
        out.once('drain', next);
        return;
      }
    }
    out.end();
  };
  next();
}

function http1Client(name: string, server: Server, ca?: Buffer): Client {
  const agent = ca
    ? new HttpsAgent({ keepAlive: true, maxSockets: heads, ca })
    : new HttpAgent({ keepAlive: true, maxSockets: heads });
  const request = ca ? httpsRequest : httpRequest;
  return {
    name,
    server,
    send: (method, url, headers, bytes = 0) =>
      new Promise((resolve, reject) => {
        const req = request(url, { method, headers, agent });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, location: res.headers.location }),
          );
        });
        req.on('error', reject);
        pump(req, bytes);
      }),
    close: () => agent.destroy(),
    large: [],
    sequentialHeads: [],
    parallelHeads: [],
  };
}

async function http2Client(server: Server, ca: Buffer): Promise<Client> {
  const origin = new URL(server.endpoint).origin;
  const session: ClientHttp2Session = connect(origin, { ca });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  if (session.alpnProtocol !== 'h2') throw new Error(`ALPN chose ${session.alpnProtocol}`);
  return {
    name: 'h2 (TLS)',
    server,
    send: (method, url, headers, bytes = 0) =>
      new Promise((resolve, reject) => {
        const stream = session.request(
          { ':method': method, ':path': new URL(url).pathname, ...headers },
          { endStream: bytes === 0 },
        );
        let answer: Answer = { status: 0 };
        stream.on('response', (headers) => {
          answer = { status: Number(headers[':status']), location: headers.location as string };
        });
        stream.resume();
        stream.on('end', () => resolve(answer));
        stream.on('error', reject);
        if (!stream.writableEnded) pump(stream, bytes);
      }),
    close: () => session.close(),
    large: [],
    sequentialHeads: [],
    parallelHeads: [],
  };
}

async function createUpload(client: Client, length: number): Promise<string> {
  const created = await client.send('POST', client.server.endpoint, {
    ...tus,
    'upload-length': String(length),
  });
  if (created.status !== 201 || !created.location)
    throw new Error(`POST answered ${created.status}`);
  return new URL(created.location, client.server.endpoint).href;
}

async function uploadLarge(client: Client): Promise<void> {
  execFileSync('sync');
  const pid = client.server.pid!;
  const cpuBefore = treeCpuSeconds(pid);
  const started = performance.now();
  const location = await createUpload(client, largeBytes);
  const patched = await client.send(
    'PATCH',
    location,
    {
      ...tus,
      'upload-offset': '0',
      'content-type': 'application/offset+octet-stream',
      'content-length': String(largeBytes),
    },
    largeBytes,
  );
  if (patched.status !== 204) throw new Error(`PATCH answered ${patched.status}`);
  const seconds = (performance.now() - started) / 1000;
  client.large.push({
    mibPerSecond: largeBytes / 2 ** 20 / seconds,
    cpuPerGiB: (treeCpuSeconds(pid) - cpuBefore) / (largeBytes / 2 ** 30),
  });
  await client.send('DELETE', location, tus);
}

async function headRates(client: Client): Promise<void> {
  const location = await createUpload(client, 1);
  const head = async () => {
    const answer = await client.send('HEAD', location, tus);
    if (answer.status !== 200) throw new Error(`HEAD answered ${answer.status}`);
  };
  await head(); // the connection is open before the clock starts
  let started = performance.now();
  for (let index = 0; index < heads; index++) await head();
  client.sequentialHeads.push(heads / ((performance.now() - started) / 1000));
  started = performance.now();
  await Promise.all(Array.from({ length: heads }, head));
  client.parallelHeads.push(heads / ((performance.now() - started) / 1000));
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function runHttp2Benchmark(): Promise<void> {
  console.log(
    `\nHTTP/2 vs HTTP/1.1 benchmark: 1 × ${largeBytes / 2 ** 20} MiB upload, ${heads} HEADs (sequential, at once), median of ${rounds} interleaved rounds\n`,
  );
  const dir = await tempDir('tusgate-bench-h2-');
  const servers: Server[] = [];
  const clients: Client[] = [];
  try {
    const ca = await createTestCa(dir.path);
    const certificate = await ca.issue('server');
    const route = {
      name: 'bench',
      match: { pathPrefix: '/files/' },
      backends: { native: { type: 'native', store: 'main' } },
    };
    const start = async (name: string, server: Record<string, unknown>) => {
      const started = await startGatewayServer(
        join(dir.path, name),
        [route],
        { main: { type: 'date-sharded', root: join(dir.path, name, 'store') } },
        server,
      );
      servers.push(started);
      return started;
    };
    const secure = await start('tls', {
      tls: { cert: certificate.cert, key: certificate.key },
      http2: true,
    });
    const plain = await start('plain', {});
    const caPem = await readFile(ca.certFile);
    clients.push(await http2Client(secure, caPem));
    clients.push(http1Client('HTTP/1.1 (TLS)', secure, caPem));
    clients.push(http1Client('HTTP/1.1 (no TLS)', plain));
    for (const client of clients) await headRates(client); // warm-up, not counted
    for (const client of clients) {
      client.sequentialHeads.length = 0;
      client.parallelHeads.length = 0;
    }
    for (let round = 0; round < rounds; round++) {
      for (const client of clients) {
        await uploadLarge(client);
        await headRates(client);
      }
    }
  } finally {
    for (const client of clients) client.close();
    for (const server of servers) await server.stop();
    await dir.remove();
  }
  printTable(
    [
      'client',
      'MiB/s',
      'CPU s/GiB',
      'HEAD/s one by one',
      `HEAD/s ${heads} at once`,
      'every round MiB/s',
    ],
    clients.map((client) => [
      client.name,
      median(client.large.map((run) => run.mibPerSecond)).toFixed(1),
      median(client.large.map((run) => run.cpuPerGiB)).toFixed(2),
      median(client.sequentialHeads).toFixed(0),
      median(client.parallelHeads).toFixed(0),
      client.large.map((run) => run.mibPerSecond.toFixed(0)).join(' '),
    ]),
  );
  const [h2, h1] = clients as [Client, Client, Client];
  const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
  console.log('\nratios h2 / HTTP/1.1, both over TLS, same run:');
  console.log(
    `  upload MiB/s ${ratio(
      h2.large.map((r) => r.mibPerSecond),
      h1.large.map((r) => r.mibPerSecond),
    )}×`,
  );
  console.log(
    `  CPU s/GiB ${ratio(
      h2.large.map((r) => r.cpuPerGiB),
      h1.large.map((r) => r.cpuPerGiB),
    )}×`,
  );
  console.log(`  HEAD/s one by one ${ratio(h2.sequentialHeads, h1.sequentialHeads)}×`);
  console.log(`  HEAD/s ${heads} at once ${ratio(h2.parallelHeads, h1.parallelHeads)}×`);
}
