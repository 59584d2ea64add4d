/**
 * Durable state of the local EventBridge: deliveries accepted and not yet finished (a journal), and
 * dead letters. EventBridge acknowledges PutEvents only once the event is stored; the local bridge
 * does the same: an accepted event is on disk (fdatasync) before PutEvents answers, stays there
 * until each matching target has received it or it was dead-lettered, and is redelivered after a
 * restart — at-least-once, as on AWS, so consumers must be idempotent.
 *
 * @module
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  write,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { DeadLetterRecord, EventEnvelope } from './model.ts';

/** One event on its way to one target of one rule. */
export interface PendingDelivery {
  id: string;
  eventBusName: string;
  ruleName: string;
  targetId: string;
  event: EventEnvelope;
  /** Epoch ms when PutEvents accepted it (the retry policy's maximum age counts from here). */
  ingestedAt: number;
}

/** Finished entries after which the journal is rewritten with only the pending ones. */
const COMPACT_AFTER = 5_000;

/** Lines waiting for the next group commit, and who waits for them to be on disk. */
interface Batch {
  text: string[];
  waiters: { resolve: () => void; reject: (error: Error) => void }[];
}

/**
 * The journal of pending deliveries, `<dir>/pending.jsonl`: `{"put": delivery}` lines, fsync'd
 * before PutEvents answers, and `{"done": id}` lines (not fsync'd: losing one only means a
 * redelivery). Without `dir` it only keeps them in memory.
 *
 * @example
 * const store = new DeliveryStore('.local/eventbridge');
 * for (const d of store.pending()) redeliver(d); // what a crash left behind
 * store.add([delivery]);                          // durable when this returns
 * await store.addDurably([other]);                 // durable when this resolves (group commit)
 * store.done(delivery.id);
 */
export class DeliveryStore {
  readonly #file: string | undefined;
  readonly #pending = new Map<string, PendingDelivery>();
  #fd: number | undefined;
  #finished = 0;
  /** Lines of {@link addDurably} callers waiting for the write in flight to finish. */
  #next: Batch = { text: [], waiters: [] };
  #writing = false;
  #compactDue = false;
  #closeDue = false;
  #syncs = 0;

  constructor(dir?: string) {
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    this.#file = join(dir, 'pending.jsonl');
    if (existsSync(this.#file)) {
      for (const line of readFileSync(this.#file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let entry: { put?: PendingDelivery; done?: string };
        try {
          entry = JSON.parse(line);
        } catch {
          continue; // a line torn by a crash mid-write: its PutEvents was never answered
        }
        if (entry.put) this.#pending.set(entry.put.id, entry.put);
        else if (entry.done) this.#pending.delete(entry.done);
      }
    }
    this.#compact();
  }

  /** Deliveries not finished yet, oldest first. */
  pending(): PendingDelivery[] {
    return [...this.#pending.values()];
  }

  get size(): number {
    return this.#pending.size;
  }

  /** fdatasync calls made on the journal so far (one per {@link add}, one per group of {@link addDurably}). */
  get syncs(): number {
    return this.#syncs;
  }

  /**
   * Records deliveries; they are on disk when this returns. Blocks the thread for the write and the
   * fdatasync: for callers that cannot wait asynchronously (a server prefers {@link addDurably}).
   */
  add(deliveries: PendingDelivery[]): void {
    if (deliveries.length === 0) return;
    for (const d of deliveries) this.#pending.set(d.id, d);
    if (this.#fd === undefined) return;
    writeSync(this.#fd, deliveries.map((d) => `${JSON.stringify({ put: d })}\n`).join(''));
    fdatasyncSync(this.#fd);
    this.#syncs++;
  }

  /**
   * Records deliveries; they are on disk when the promise resolves (rejects, and forgets them, when
   * the write fails). The write and the fdatasync run off the event loop, and callers arriving while
   * one is in flight share the next one (group commit, as a database's WAL does): a server stays
   * responsive while the disk syncs, and N concurrent callers cost fewer than N syncs.
   */
  addDurably(deliveries: PendingDelivery[]): Promise<void> {
    if (deliveries.length === 0) return Promise.resolve();
    for (const d of deliveries) this.#pending.set(d.id, d);
    if (this.#fd === undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#next.text.push(deliveries.map((d) => `${JSON.stringify({ put: d })}\n`).join(''));
      this.#next.waiters.push({
        resolve,
        reject: (error) => {
          for (const d of deliveries) this.#pending.delete(d.id);
          reject(error);
        },
      });
      this.#flush();
    });
  }

  /** A delivery reached its target or was dead-lettered. */
  done(id: string): void {
    if (!this.#pending.delete(id) || this.#fd === undefined) return;
    writeSync(this.#fd, `${JSON.stringify({ done: id })}\n`);
    if (++this.#finished >= COMPACT_AFTER) {
      if (this.#writing) this.#compactDue = true;
      else this.#compact();
    }
  }

  /** Closes the journal (once the group commit in flight, if any, has finished). */
  close(): void {
    if (this.#writing) {
      this.#closeDue = true;
      return;
    }
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Writes and syncs what {@link addDurably} callers queued, one group at a time. */
  #flush(): void {
    const fd = this.#fd;
    if (this.#writing || this.#next.waiters.length === 0) return;
    const batch = this.#next;
    this.#next = { text: [], waiters: [] };
    if (fd === undefined) {
      for (const w of batch.waiters) w.resolve();
      return;
    }
    this.#writing = true;
    const buffer = Buffer.from(batch.text.join(''), 'utf8');
    const finish = (error: Error | null) => {
      this.#writing = false;
      if (!error) this.#syncs++;
      for (const w of batch.waiters) error ? w.reject(error) : w.resolve();
      if (this.#closeDue) {
        this.#closeDue = false;
        this.close();
      } else if (this.#compactDue) {
        this.#compactDue = false;
        this.#compact();
      }
      this.#flush();
    };
    // One write call, as `add` does: lines of concurrent writers never interleave (O_APPEND).
    write(fd, buffer, 0, buffer.length, null, (error, written) => {
      if (error) return finish(error);
      if (written !== buffer.length)
        return finish(new Error(`short write to the event journal (${written} of ${buffer.length} bytes)`));
      fdatasync(fd, (syncError) => finish(syncError));
    });
  }

  /** Rewrites the journal with only the pending deliveries (write, fsync, rename). */
  #compact(): void {
    const file = this.#file;
    if (!file) return;
    if (this.#fd !== undefined) closeSync(this.#fd);
    const temp = `${file}.tmp`;
    const fd = openSync(temp, 'w');
    writeSync(
      fd,
      this.pending()
        .map((d) => `${JSON.stringify({ put: d })}\n`)
        .join(''),
    );
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, file);
    this.#fd = openSync(file, 'a');
    this.#finished = 0;
  }
}

/**
 * Dead letters: kept in memory and, with a file, appended to it as JSON lines (fsync'd) and read
 * back from it, so `npm run local -- dead-letters` shows those of earlier runs too.
 */
export class DeadLetterLog {
  readonly #file: string | undefined;
  readonly #records: DeadLetterRecord[] = [];
  readonly #onError: (error: unknown) => void;

  constructor(file: string | undefined, onError: (error: unknown) => void) {
    this.#file = file;
    this.#onError = onError;
  }

  add(record: DeadLetterRecord): void {
    this.#records.push(record);
    if (!this.#file) return;
    try {
      mkdirSync(dirname(this.#file), { recursive: true });
      const fd = openSync(this.#file, 'a');
      try {
        writeSync(fd, `${JSON.stringify(record)}\n`);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Those in the file (earlier runs included), then those only in memory. */
  list(): DeadLetterRecord[] {
    const fromFile: DeadLetterRecord[] = [];
    const seen = new Set<string>();
    if (this.#file && existsSync(this.#file)) {
      for (const line of readFileSync(this.#file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          fromFile.push(JSON.parse(line) as DeadLetterRecord);
          seen.add(line);
        } catch {
          // a torn line (e.g. a crash mid-write) is skipped
        }
      }
    }
    const onlyInMemory = this.#records.filter((d) => !seen.has(JSON.stringify(d)));
    return [...fromFile, ...onlyInMemory.map((d) => structuredClone(d))];
  }
}
