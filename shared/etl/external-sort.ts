import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { createScratchDir, removeScratchDir } from './scratch.ts';

/** One record on its way through the sort: its dedup key, its version and the record itself. */
export interface Keyed {
  key: string;
  version: bigint;
  record: string;
}

const compare = (a: Keyed, b: Keyed) =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : a.version > b.version ? -1 : a.version < b.version ? 1 : 0;

/**
 * De-duplicates a stream of records by key, latest version winning, with bounded memory: records
 * are sorted in chunks of `chunkRows`, each chunk spilled to a temporary file, and the sorted runs
 * merged (k-way) into one stream in key order. Peak memory is one chunk plus one line per run,
 * whatever the input size.
 *
 * @example
 * const dedup = new ExternalDedup({ chunkRows: 50_000 });
 * for (const r of records) await dedup.add({ key: r.id, version: r.v, record: JSON.stringify(r) });
 * for await (const winner of dedup.drain()) write(winner);
 */
export class ExternalDedup {
  private readonly chunkRows: number;
  private readonly dir: string;
  private chunk: Keyed[] = [];
  private readonly runs: string[] = [];
  added = 0;

  constructor(options: { chunkRows?: number; tmpDir?: string } = {}) {
    this.chunkRows = options.chunkRows ?? 50_000;
    this.dir = createScratchDir('sort', options.tmpDir);
  }

  async add(item: Keyed): Promise<void> {
    this.added++;
    this.chunk.push(item);
    if (this.chunk.length >= this.chunkRows) await this.spill();
  }

  private async spill(): Promise<void> {
    if (!this.chunk.length) return;
    this.chunk.sort(compare);
    const file = path.join(this.dir, `run-${this.runs.length}.jsonl`);
    const out = createWriteStream(file);
    for (const item of this.chunk) {
      if (!out.write(`${JSON.stringify([item.key, String(item.version), item.record])}\n`))
        await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    this.runs.push(file);
    this.chunk = [];
  }

  /** The winners in key order (one per key); removes the temporary files when done. */
  async *drain(): AsyncGenerator<Keyed> {
    try {
      let sources: AsyncIterator<Keyed>[];
      if (this.runs.length === 0) {
        // Everything fit in one chunk: no file needed.
        this.chunk.sort(compare);
        sources = [toAsync(this.chunk)];
      } else {
        await this.spill();
        sources = this.runs.map((file) => readRun(file));
      }
      const heads: (Keyed | undefined)[] = await Promise.all(
        sources.map(async (s) => (await s.next()).value),
      );
      let lastKey: string | undefined;
      for (;;) {
        let best = -1;
        for (let i = 0; i < heads.length; i++) {
          const h = heads[i];
          if (h && (best < 0 || compare(h, heads[best] as Keyed) < 0)) best = i;
        }
        if (best < 0) break;
        const item = heads[best] as Keyed;
        const next = await (sources[best] as AsyncIterator<Keyed>).next();
        heads[best] = next.done ? undefined : next.value;
        if (item.key === lastKey) continue; // an older version of a key already emitted
        lastKey = item.key;
        yield item;
      }
    } finally {
      this.chunk = [];
      removeScratchDir(this.dir);
    }
  }
}

async function* toAsync(items: Keyed[]): AsyncGenerator<Keyed> {
  yield* items;
}

async function* readRun(file: string): AsyncGenerator<Keyed> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const [key, version, record] = JSON.parse(line) as [string, string, string];
    yield { key, version: BigInt(version), record };
  }
}
