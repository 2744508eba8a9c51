import type { ServerResponse } from 'node:http';
import { NATIVE_EXTENSIONS, TUS_VERSION } from '../../../tus/constants.ts';
import { checksumAlgorithms } from '../checksum.ts';
import type { NativeEnvironment } from '../environment.ts';

export function handleOptions(env: NativeEnvironment, res: ServerResponse): void {
  const headers: Record<string, string> = {
    'Tus-Resumable': TUS_VERSION,
    'Tus-Version': TUS_VERSION,
    'Tus-Extension': NATIVE_EXTENSIONS.join(','),
    'Tus-Checksum-Algorithm': checksumAlgorithms.join(','),
  };
  if (env.maxSize !== undefined) headers['Tus-Max-Size'] = String(env.maxSize);
  // 200, as tusd answers discovery: some clients and compliance suites take only a 200.
  headers['Content-Length'] = '0';
  res.writeHead(200, headers);
  res.end();
}
