import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function tempDir(
  prefix = 'tusgate-test-',
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Writes `size` pseudo-random bytes (1 MiB random block repeated with a counter) and returns the path. */
export async function randomFile(
  dir: string,
  size: number,
  name = `file-${size}`,
): Promise<string> {
  const path = join(dir, name);
  const handle = await open(path, 'w');
  try {
    const block = randomBytes(Math.min(size, 1 << 20));
    let written = 0;
    let counter = 0;
    while (written < size) {
      const length = Math.min(block.length, size - written);
      block.writeUInt32LE(counter++, 0);
      await handle.write(block, 0, length, written);
      written += length;
    }
  } finally {
    await handle.close();
  }
  return path;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** True when something exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
