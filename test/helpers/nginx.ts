import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.ts';

export const shippedConfig = join(
  import.meta.dirname,
  '..',
  '..',
  'deploy',
  'nginx',
  'tusgate.conf',
);

export interface RunningNginx {
  name: string;
  port: number;
  /** Collection URL uploads are POSTed to. */
  endpoint: string;
  pid?: number;
  stop: () => Promise<void>;
}

export function nginxBinary(): string | undefined {
  return ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
}

/**
 * The directives of the location block in the shipped deploy/nginx/tusgate.conf, comments and
 * `proxy_pass` left out: tests run nginx with exactly what operators are told to use.
 */
export async function shippedProxyDirectives(): Promise<string[]> {
  const text = await readFile(shippedConfig, 'utf8');
  const block = /location\s+\S+\s*\{([^}]*)\}/.exec(text)?.[1];
  if (block === undefined) throw new Error(`${shippedConfig} has no location block`);
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('proxy_pass '));
}

/**
 * Real nginx with the shipped config's proxy directives (no request buffering, HTTP/1.1
 * keep-alive, Host and X-Forwarded-*), on a random port, proxying `location` to
 * 127.0.0.1:`upstreamPort`.
 */
export async function startNginx(
  dir: string,
  upstreamPort: number,
  options: { location?: string; extraProxyLines?: string; workerProcesses?: number } = {},
): Promise<RunningNginx> {
  const port = await freePort();
  const nginx = await startNginxWithConfig(
    dir,
    `  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location ${options.location ?? '/'} {
      proxy_pass http://backend;
      ${(await shippedProxyDirectives()).join('\n      ')}
      ${options.extraProxyLines ?? ''}
    }
  }`,
    port,
    options.workerProcesses,
  );
  return { ...nginx, endpoint: `http://127.0.0.1:${port}/files/` };
}

/**
 * Real nginx running `httpContext` (upstreams and server blocks, e.g. a documented config) inside a
 * minimal main config; `port` is the port that text listens on.
 */
export async function startNginxWithConfig(
  dir: string,
  httpContext: string,
  port: number,
  workerProcesses = 1,
): Promise<RunningNginx> {
  const binary = nginxBinary();
  if (!binary)
    throw new Error(
      'nginx is not installed (apt-get install nginx-light; the npm test setup does)',
    );
  await mkdir(join(dir, 'logs'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `user root;
worker_processes ${workerProcesses};
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
${httpContext}
}
`,
  );
  const child: ChildProcess = spawn(binary, ['-p', dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    await waitForPort(port);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`nginx did not start: ${(error as Error).message}\n${stderr}`);
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return { name: 'nginx', port, endpoint: `https://127.0.0.1:${port}/`, pid: child.pid, stop };
}
