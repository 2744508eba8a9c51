import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.ts';

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
 * Real nginx configured as the README recommends (no request buffering, HTTP/1.1 keep-alive,
 * X-Forwarded-*), proxying `location` to 127.0.0.1:`upstreamPort`.
 */
export async function startNginx(
  dir: string,
  upstreamPort: number,
  options: { location?: string; extraProxyLines?: string } = {},
): Promise<RunningNginx> {
  const binary = nginxBinary();
  if (!binary)
    throw new Error(
      'nginx is not installed (apt-get install nginx-light; the npm test setup does)',
    );
  const port = await freePort();
  await mkdir(join(dir, 'logs'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location ${options.location ?? '/'} {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
      client_max_body_size 0;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host:$server_port;
      proxy_set_header X-Request-Id $request_id;
      ${options.extraProxyLines ?? ''}
    }
  }
}
`,
  );
  const child: ChildProcess = spawn(binary, ['-p', dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return { name: 'nginx', port, endpoint: `http://127.0.0.1:${port}/files/`, pid: child.pid, stop };
}

/**
 * Real nginx running `httpContext` (upstreams and server blocks, e.g. a documented config) inside a
 * minimal main config; `port` is the port that text listens on.
 */
export async function startNginxWithConfig(
  dir: string,
  httpContext: string,
  port: number,
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
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
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
