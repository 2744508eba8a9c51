import { Agent, request } from 'node:http';

export interface LatencyResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function head(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'HEAD', agent, headers: { 'Tus-Resumable': '1.0.0' } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Closed-loop HEAD load: one keep-alive connection and worker per URL (each its own upload, so
 * tusd's per-upload lock is not what is measured), HEAD after HEAD for `seconds`.
 * Node's http client keeps connections alive after HEAD like browsers do; undici closes them
 * (undici issue 258), and wrk waits for a body after HEAD, so neither is used here.
 */
export async function headLoad(urls: string[], seconds: number): Promise<LatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: urls.length });
  const latencies: number[] = [];
  let errors = 0;
  const warmUntil = performance.now() + 500;
  const stopAt = warmUntil + seconds * 1000;
  const worker = async (url: string) => {
    while (performance.now() < stopAt) {
      const started = performance.now();
      try {
        if ((await head(agent, url)) !== 200) errors++;
      } catch {
        errors++;
      }
      if (started >= warmUntil) latencies.push(performance.now() - started);
    }
  };
  await Promise.all(urls.map(worker));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return { requestsPerSecond: latencies.length / seconds, p50Ms: at(50), p99Ms: at(99), errors };
}
