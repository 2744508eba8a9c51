import type { ServerResponse } from 'node:http';
import { TUS_VERSION } from '../../../gateway/respond.ts';
import type { NativeEnvironment } from '../environment.ts';
import { checksumAlgorithmHeader, tusExtensions } from '../protocol.ts';

export function handleOptions(env: NativeEnvironment, res: ServerResponse): void {
  const headers: Record<string, string> = {
    'Tus-Resumable': TUS_VERSION,
    'Tus-Version': TUS_VERSION,
    'Tus-Extension': tusExtensions,
    'Tus-Checksum-Algorithm': checksumAlgorithmHeader,
  };
  if (env.maxSize !== undefined) headers['Tus-Max-Size'] = String(env.maxSize);
  res.writeHead(204, headers);
  res.end();
}
