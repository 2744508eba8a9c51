import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { HookEvent } from './types.ts';

/** A post-* event waiting for one sink, as the journal keeps it. */
export interface JournalEntry {
  id: number;
  sink: number;
  event: HookEvent;
  headers: Record<string, string[]>;
}

interface RecordLine {
  i: number;
  s: number;
  e: HookEvent;
  h: Record<string, string[]>;
}

/** Lines after which an idle journal starts over. */
const resetAfterLines = 1_000;

/**
 * An append-only file of the post-* events a route's hooks still owe their sinks: a record line
 * when an event is queued, a done line when it was delivered or given up. A process that is
 * killed (or stopped while a receiver is down) finds what it still owed at its next start. Lines
 * are appended synchronously: an event is on file before the request that caused it answers.
 * Put the folder on a local disk.
 */
export class HookJournal {
  readonly file: string;
  #fd: number;
  #nextId: number;
  #lines: number;
  #closed = false;

  private constructor(file: string, fd: number, nextId: number, lines: number) {
    this.file = file;
    this.#fd = fd;
    this.#nextId = nextId;
    this.#lines = lines;
  }

  /**
   * Opens (or creates) the journal and returns what it still owes. The file is rewritten with
   * only those entries (write and rename, so a crash leaves the old file or the new one).
   */
  static open(dir: string, name: string): { journal: HookJournal; pending: JournalEntry[] } {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.jsonl`);
    const pending = readPending(file).map((entry, index) => ({ ...entry, id: index + 1 }));
    const compacted = `${file}.tmp`;
    const fd = openSync(compacted, 'w');
    for (const entry of pending) writeSync(fd, recordLine(entry));
    closeSync(fd);
    renameSync(compacted, file);
    const journal = new HookJournal(file, openSync(file, 'a'), pending.length + 1, pending.length);
    return { journal, pending };
  }

  record(sink: number, event: HookEvent, headers: Record<string, string[]>): number {
    const id = this.#nextId++;
    this.#append(recordLine({ id, sink, event, headers }));
    return id;
  }

  done(id: number): void {
    this.#append(`{"d":${id}}\n`);
  }

  /** Called when nothing is owed: a long journal starts over. */
  idle(): void {
    if (this.#closed || this.#lines < resetAfterLines) return;
    closeSync(this.#fd);
    this.#fd = openSync(this.file, 'w');
    closeSync(this.#fd);
    this.#fd = openSync(this.file, 'a');
    this.#lines = 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  #append(line: string): void {
    // After close, what is not done stays owed: it is replayed at the next start.
    if (this.#closed) return;
    writeSync(this.#fd, line);
    this.#lines++;
  }
}

function recordLine(entry: JournalEntry): string {
  const line: RecordLine = { i: entry.id, s: entry.sink, e: entry.event, h: entry.headers };
  return `${JSON.stringify(line)}\n`;
}

/** Entries recorded and not done, in order. A torn last line (a kill mid-write) is skipped. */
function readPending(file: string): Omit<JournalEntry, 'id'>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const open = new Map<number, Omit<JournalEntry, 'id'>>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let parsed: Partial<RecordLine> & { d?: number };
    try {
      parsed = JSON.parse(line) as Partial<RecordLine> & { d?: number };
    } catch {
      continue;
    }
    if (typeof parsed.d === 'number') open.delete(parsed.d);
    else if (typeof parsed.i === 'number' && parsed.e && typeof parsed.s === 'number') {
      open.set(parsed.i, { sink: parsed.s, event: parsed.e, headers: parsed.h ?? {} });
    }
  }
  return [...open.values()];
}
