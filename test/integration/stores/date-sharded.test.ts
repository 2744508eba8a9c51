import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { dateShardedStoreSchema } from '../../../src/config/schema/store.ts';
import { tempDir } from '../../helpers/files.ts';
import { storeContract } from './contract.ts';

storeContract('date-sharded (file system)', async (t, { expiresAfter }) => {
  const dir = await tempDir('tusgate-store-contract-');
  t.after(() => dir.remove());
  const config = dateShardedStoreSchema.parse({ type: 'date-sharded', root: dir.path });
  const make = () => new DateShardedStore('files', { ...config, expiresAfter });
  const store = make();
  return {
    store,
    reopen: make,
    leftovers: async (id) => {
      const folder = join(dir.path, store.folderOf(id));
      const names = await readdir(folder).catch(() => []);
      return names.filter((name) => name.startsWith(id));
    },
  };
});
