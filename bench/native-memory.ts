/**
 * Memory under many slow clients: BENCH_SLOW_UPLOADS (1000) uploads to the native backend at once,
 * each trickling 16 KiB every 100 ms for BENCH_SLOW_SECONDS (10) s. Prints the gateway's peak RSS
 * (target < 300 MB) next to @tus/server's under the same load.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/files.ts';
import { createUpload } from './lib/load.ts';
import { type Server, startNativeGatewayServer, startTusNodeServer } from './lib/servers.ts';

const uploads = Number(process.env.BENCH_SLOW_UPLOADS ?? 1000);
const seconds = Number(process.env.BENCH_SLOW_SECONDS ?? 10);
const piece = Buffer.alloc(16 * 1024, 0x61);

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function slowPatch(agent: Agent, url: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent,
      method: 'PATCH',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(size),
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    let sent = 0;
    const timer = setInterval(() => {
      req.write(piece);
      sent += piece.length;
      if (sent >= size) {
        clearInterval(timer);
        req.end();
      }
    }, 100);
  });
}

async function measure(start: (dir: string) => Promise<Server>) {
  const dir = await tempDir('tusgate-bench-memory-');
  const server = await start(join(dir.path, 'server'));
  try {
    const size = piece.length * Math.round((seconds * 1000) / 100);
    const urls: string[] = [];
    for (let i = 0; i < uploads; i += 50) {
      urls.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, uploads - i) }, () =>
            createUpload(server.endpoint, size),
          ),
        )),
      );
    }
    const baseline = rssMiB(server.pid!);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(server.pid!));
    }, 200);
    const agent = new Agent({ keepAlive: false, maxSockets: uploads });
    const statuses = await Promise.all(urls.map((url) => slowPatch(agent, url, size)));
    clearInterval(sampler);
    agent.destroy();
    const ok = statuses.filter((status) => status === 204).length;
    return { name: server.name, baseline, peak, ok };
  } finally {
    await server.stop();
    await dir.remove();
  }
}

export async function runMemoryBenchmark(): Promise<void> {
  console.log(`\nmemory: ${uploads} concurrent slow uploads for ${seconds} s\n`);
  for (const start of [
    async (dir: string) => ({ ...(await startNativeGatewayServer(dir)), name: 'tusgate native' }),
    startTusNodeServer,
  ]) {
    const r = await measure(start);
    console.log(
      `  ${r.name.padEnd(15)} RSS idle ${r.baseline.toFixed(0)} MiB, peak ${r.peak.toFixed(0)} MiB` +
        ` = ${((r.peak * 2 ** 20) / 1e6).toFixed(0)} MB (target < 300 MB), ${r.ok}/${uploads} uploads finished`,
    );
  }
}

if (import.meta.main) await runMemoryBenchmark();
