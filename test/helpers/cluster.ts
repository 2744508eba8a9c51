import { readdir, readFile, readlink } from 'node:fs/promises';
import { request } from 'node:http';

/** JSON log lines in a process's output (other lines skipped). */
export function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

/** The current pid of each worker slot, from the workers' "worker listening" lines. */
export function workerPids(output: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of logLines(output)) {
    if (line.msg === 'worker listening' && line.role === undefined) {
      pids.set(line.worker as number, line.pid as number);
    }
  }
  return pids;
}

/** Polls `condition` every 50 ms until it holds, or throws after `timeoutMs` with `what`. */
export async function eventually(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a connection of its own (no keep-alive pool), so the cluster places it anew. */
export function freshRequest(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The pid (among `pids`) whose process holds the server side of the TCP connection from
 * 127.0.0.1:`clientPort` to `serverPort`: which worker node:cluster gave the connection to.
 */
export async function pidServingConnection(
  clientPort: number,
  serverPort: number,
  pids: Iterable<number>,
): Promise<number | undefined> {
  const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  const table = await readFile('/proc/net/tcp', 'utf8');
  let inode: string | undefined;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, remote] = [fields[1], fields[2]];
    if (local?.endsWith(`:${hexPort(serverPort)}`) && remote?.endsWith(`:${hexPort(clientPort)}`)) {
      inode = fields[9];
    }
  }
  if (inode === undefined || inode === '0') return undefined;
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target === `socket:[${inode}]`) return pid;
    }
  }
  return undefined;
}
