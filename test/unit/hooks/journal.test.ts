import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { HookJournal } from '../../../src/hooks/journal.ts';
import { tempDir } from '../../helpers/files.ts';
import { hookEvent } from '../../helpers/hook-event.ts';

const event = (id: string) => hookEvent('post-finish', id, 100);

test('a reopened journal owes what was recorded and not done, in order, and skips a torn line', async () => {
  const dir = await tempDir('tusgate-journal-unit-');
  try {
    const first = HookJournal.open(dir.path, 'route-abc');
    assert.deepEqual(first.pending, []);
    const a = first.journal.record(0, event('a'), { 'X-A': ['1'] }) as number;
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
    const third = HookJournal.open(dir.path, 'route-abc');
    assert.equal(third.pending.length, 3);
    third.journal.close();
  } finally {
    await dir.remove();
  }
});

test('an idle journal that grew long starts over', async () => {
  const dir = await tempDir('tusgate-journal-unit-');
  try {
    const { journal } = HookJournal.open(dir.path, 'route-long');
    const owed = journal.record(1, event('owed'), {}) as number;
    for (let index = 0; index < 600; index++) {
      journal.done(journal.record(0, event(`u${index}`), {}) as number);
    }
    // Sink 1 still owes an event: the file must keep it.
    journal.idle();
    assert.notEqual(readFileSync(journal.file, 'utf8'), '');
    journal.done(owed);
    journal.idle();
    assert.equal(readFileSync(journal.file, 'utf8'), '');
    journal.done(journal.record(0, event('after'), {}) as number);
    journal.close();
    const reopened = HookJournal.open(dir.path, 'route-long');
    assert.deepEqual(reopened.pending, []);
    reopened.journal.close();
  } finally {
    await dir.remove();
  }
});

test('credentials never reach the disk, and a second open in the process shares the journal', async () => {
  const dir = await tempDir('tusgate-journal-unit-');
  try {
    const first = HookJournal.open(dir.path, 'route-shared');
    const withCredentials = event('c');
    withCredentials.Event.HTTPRequest.Header = {
      Authorization: ['Bearer secret-1'],
      Cookie: ['galaxysession=secret-2'],
      'X-Api-Key': ['secret-3'],
      'Upload-Length': ['1'],
    };
    first.journal.record(0, withCredentials, { 'X-Api-Key': ['secret-3'], 'X-Trace': ['t'] });
    const text = readFileSync(first.journal.file, 'utf8');
    for (const secret of ['secret-1', 'secret-2', 'secret-3']) assert.ok(!text.includes(secret));
    assert.ok(text.includes('Upload-Length') && text.includes('X-Trace'));

    const second = HookJournal.open(dir.path, 'route-shared');
    assert.equal(second.journal, first.journal);
    assert.deepEqual(second.pending, [], 'its first user delivers what is owed');
    second.journal.close();
    assert.equal(first.journal.record(0, event('d'), {}), 2, 'still open for the first user');
    first.journal.close();
    assert.equal(first.journal.record(0, event('e'), {}), undefined);
  } finally {
    await dir.remove();
  }
});

test('progress events are never journaled, nor replayed from a journal that holds them', async () => {
  const dir = await tempDir('tusgate-journal-unit-');
  try {
    const first = HookJournal.open(dir.path, 'route-progress');
    assert.equal(first.journal.record(0, hookEvent('post-receive', 'p', 50), {}), undefined);
    assert.equal(readFileSync(first.journal.file, 'utf8'), '', 'nothing written for progress');
    first.journal.record(0, event('owed'), {});
    first.journal.close();
    // As an older version wrote it: progress recorded and never done.
    const stale = { i: 7, s: 0, e: hookEvent('post-receive', 'owed', 60), h: {} };
    appendFileSync(join(dir.path, 'route-progress.jsonl'), `${JSON.stringify(stale)}\n`);

    const second = HookJournal.open(dir.path, 'route-progress');
    assert.deepEqual(
      second.pending.map((entry) => [entry.event.Type, entry.event.Event.Upload.ID]),
      [['post-finish', 'owed']],
    );
    assert.ok(!readFileSync(second.journal.file, 'utf8').includes('post-receive'));
    second.journal.close();
  } finally {
    await dir.remove();
  }
});
