import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { HookJournal } from '../../../src/hooks/journal.ts';
import type { HookEvent } from '../../../src/hooks/types.ts';
import { tempDir } from '../../helpers/files.ts';

const event = (id: string): HookEvent => ({
  Type: 'post-finish',
  Event: {
    Upload: {
      ID: id,
      Size: 1,
      SizeIsDeferred: false,
      Offset: 1,
      MetaData: {},
      IsPartial: false,
      IsFinal: false,
      PartialUploads: null,
      Storage: null,
    },
    HTTPRequest: { Method: 'PATCH', URI: `/files/${id}`, RemoteAddr: '127.0.0.1', Header: {} },
  },
});

test('a reopened journal owes what was recorded and not done, in order, and skips a torn line', async () => {
  const dir = await tempDir('tusgate-journal-unit-');
  try {
    const first = HookJournal.open(dir.path, 'route-abc');
    assert.deepEqual(first.pending, []);
    const a = first.journal.record(0, event('a'), { 'X-A': ['1'] });
    first.journal.record(1, event('b'), {});
    first.journal.record(0, event('c'), {});
    first.journal.done(a);
    first.journal.close();
    appendFileSync(join(dir.path, 'route-abc.jsonl'), '{"i":9,"s":0,"e":{"Type":"po');

    const second = HookJournal.open(dir.path, 'route-abc');
    assert.deepEqual(
      second.pending.map((entry) => [entry.id, entry.sink, entry.event.Event.Upload.ID]),
      [
        [1, 1, 'b'],
        [2, 0, 'c'],
      ],
    );
    // The file was rewritten with only what is owed; new records continue the numbering.
    assert.equal(readFileSync(second.journal.file, 'utf8').trim().split('\n').length, 2);
    assert.equal(second.journal.record(0, event('d'), {}), 3);
    second.journal.close();
    // After close nothing is written (and nothing throws): owed events stay owed.
    second.journal.done(1);
    assert.equal(HookJournal.open(dir.path, 'route-abc').pending.length, 3);
  } finally {
    await dir.remove();
  }
});

test('an idle journal that grew long starts over', async () => {
  const dir = await tempDir('tusgate-journal-unit-');
  try {
    const { journal } = HookJournal.open(dir.path, 'route-long');
    for (let index = 0; index < 600; index++)
      journal.done(journal.record(0, event(`u${index}`), {}));
    journal.idle();
    assert.equal(readFileSync(journal.file, 'utf8'), '');
    journal.done(journal.record(0, event('after'), {}));
    journal.close();
    assert.deepEqual(HookJournal.open(dir.path, 'route-long').pending, []);
  } finally {
    await dir.remove();
  }
});
