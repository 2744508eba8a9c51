import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isSecretName } from '../config/secret-names.ts';
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

/** Lines after which a journal that owes nothing starts over. */
const resetAfterLines = 1_000;
/** Journals open in this process, by file: a route's runner and its successor share one. */
const openJournals = new Map<string, HookJournal>();

/**
 * Progress (post-receive) is ephemeral: only its latest value matters, and a stale one replayed
 * after a restart would be wrong. It is never journaled, and never replayed from a journal an
 * older version wrote; at-least-once delivery is for lifecycle events.
 */
const isProgress = (event: HookEvent): boolean => event.Type === 'post-receive';

/**
 * An append-only file of the lifecycle post-* events a route's hooks still owe their sinks: a
 * record line when an event is queued, a done line when it was delivered or given up. A process
 * that is killed (or stopped while a receiver is down) finds what it still owed at its next
 * start. Lines are appended synchronously, so an event is on file before the request that caused
 * it answers; put the folder on a local disk. A write that fails turns the journal off (events
 * then wait in memory only) rather than failing uploads.
 */
export class HookJournal {
  readonly file: string;
  #fd: number;
  #nextId: number;
  #lines: number;
  #users = 1;
  #closed = false;
  readonly #open = new Set<number>();
  readonly #onFailure: (error: unknown) => void;

  private constructor(
    file: string,
    fd: number,
    pending: JournalEntry[],
    onFailure: (error: unknown) => void,
  ) {
    this.file = file;
    this.#fd = fd;
    this.#nextId = pending.length + 1;
    this.#lines = pending.length;
    for (const entry of pending) this.#open.add(entry.id);
    this.#onFailure = onFailure;
  }

  /**
   * Opens (or creates) the journal and returns what it still owes, rewriting the file with only
   * those entries (write and rename: a crash leaves the old file or the new one). When this
   * process has it open already, the same journal is shared and nothing is owed to the caller:
   * its first user is delivering those entries.
   */
  static open(
    dir: string,
    name: string,
    onFailure: (error: unknown) => void = () => {},
    credentialHeaders: ReadonlySet<string> = new Set(),
  ): { journal: HookJournal; pending: JournalEntry[] } {
    const file = join(dir, `${name}.jsonl`);
    const shared = openJournals.get(file);
    if (shared) {
      shared.#users++;
      return { journal: shared, pending: [] };
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pending = readPending(file).map((entry, index) => ({ ...entry, id: index + 1 }));
    const compacted = `${file}.tmp`;
    const fd = openSync(compacted, 'w', 0o600);
    try {
      // Rewritten without credentials too: a journal an older version wrote may hold some.
      for (const entry of pending) writeSync(fd, recordLine(entry, credentialHeaders));
    } finally {
      closeSync(fd);
    }
    renameSync(compacted, file);
    const journal = new HookJournal(file, openSync(file, 'a', 0o600), pending, onFailure);
    openJournals.set(file, journal);
    return { journal, pending };
  }

  /**
   * Records an event for a sink; undefined when the journal is closed or turned off, or for
   * progress events, which are not journaled.
   */
  /**
   * Credentials stay off the disk (replayed events go out without them): every header named as a
   * secret (config/secret-names.ts) and those in `credentialHeaders` (lowercase).
   */
  record(
    sink: number,
    event: HookEvent,
    headers: Record<string, string[]>,
    credentialHeaders: ReadonlySet<string> = new Set(),
  ): number | undefined {
    if (this.#closed || isProgress(event)) return undefined;
    const id = this.#nextId++;
    if (!this.#append(recordLine({ id, sink, event, headers }, credentialHeaders))) {
      return undefined;
    }
    this.#open.add(id);
    return id;
  }

  done(id: number): void {
    if (this.#open.delete(id)) this.#append(`{"d":${id}}\n`);
  }

  /** Starts a long journal over once it owes nothing (to any sink). */
  idle(): void {
    if (this.#closed || this.#open.size > 0 || this.#lines < resetAfterLines) return;
    try {
      closeSync(this.#fd);
      closeSync(openSync(this.file, 'w', 0o600));
      this.#fd = openSync(this.file, 'a', 0o600);
      this.#lines = 0;
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Lets go of the journal; the file closes when its last user has. What is owed stays owed. */
  close(): void {
    if (this.#closed || --this.#users > 0) return;
    this.#closed = true;
    openJournals.delete(this.file);
    closeSync(this.#fd);
  }

  #append(line: string): boolean {
    if (this.#closed) return false;
    try {
      writeSync(this.#fd, line);
      this.#lines++;
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    openJournals.delete(this.file);
    try {
      closeSync(this.#fd);
    } catch {
      // Already unusable.
    }
    this.#onFailure(error);
  }
}

function recordLine(entry: JournalEntry, credentialHeaders: ReadonlySet<string>): string {
  const withoutCredentials = (headers: Record<string, string[]>) =>
    Object.fromEntries(
      Object.entries(headers).filter(
        ([name]) => !isSecretName(name) && !credentialHeaders.has(name.toLowerCase()),
      ),
    );
  const line: RecordLine = {
    i: entry.id,
    s: entry.sink,
    e: {
      ...entry.event,
      Event: {
        ...entry.event.Event,
        HTTPRequest: {
          ...entry.event.Event.HTTPRequest,
          Header: withoutCredentials(entry.event.Event.HTTPRequest.Header),
        },
      },
    },
    h: withoutCredentials(entry.headers),
  };
  return `${JSON.stringify(line)}\n`;
}

/**
 * Lifecycle entries recorded and not done, in order. A torn last line (a kill mid-write) is
 * skipped, and so is progress an older version journaled.
 */
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
    else if (
      typeof parsed.i === 'number' &&
      parsed.e &&
      !isProgress(parsed.e) &&
      typeof parsed.s === 'number'
    ) {
      open.set(parsed.i, { sink: parsed.s, event: parsed.e, headers: parsed.h ?? {} });
    }
  }
  return [...open.values()];
}
