import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storageFault } from '../../../src/backends/native/storage-faults.ts';

const errno = (code: string) => Object.assign(new Error(code), { code });
const rootPresent = async () => false;
const rootGone = async () => true;

test('a full disk or quota is 507, a read-only or forbidden store 503 with Retry-After', async () => {
  for (const code of ['ENOSPC', 'EDQUOT']) {
    const fault = await storageFault(errno(code), rootPresent);
    assert.equal(fault?.code, 'TUSGATE_ERR_STORAGE_FULL', code);
    assert.equal(fault?.status, 507, code);
  }
  for (const code of ['EROFS', 'EACCES', 'EPERM']) {
    const fault = await storageFault(errno(code), rootPresent);
    assert.equal(fault?.code, 'TUSGATE_ERR_STORAGE_UNAVAILABLE', code);
    assert.equal(fault?.status, 503, code);
    assert.equal(fault?.headers['Retry-After'], '30', code);
  }
});

test('ENOENT is a store fault only when the root itself is gone', async () => {
  assert.equal(await storageFault(errno('ENOENT'), rootPresent), undefined);
  assert.equal((await storageFault(errno('ENOENT'), rootGone))?.status, 503);
});

test('other errors are not store faults; a failed clean-up is judged by the first failure', async () => {
  assert.equal(await storageFault(errno('EIO'), rootGone), undefined);
  assert.equal(await storageFault(new Error('no errno'), rootGone), undefined);
  const both = new AggregateError([errno('ENOSPC'), errno('EIO')], 'info, then clean-up');
  assert.equal((await storageFault(both, rootPresent))?.status, 507);
});
