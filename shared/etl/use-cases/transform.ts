import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DuckDbEngine, duckResources } from '../adapters/engines.ts';
import { getStream, listKeys, partition, publish, putFile, stagingKey } from '../adapters/lake.ts';
import { createScratchDir, removeScratchDir, sweepStaleScratchDirs } from '../adapters/scratch.ts';
import type { StageStats } from '../adapters/state.ts';
import { type CuratedTableName, curateTable, type RawFile } from './curate.ts';

export const CURATED_FILE = 'part-00000.parquet';
export const QUARANTINE_FILE = 'rejected.jsonl.gz';

export interface TransformOptions {
  runId: string;
  date: string;
}

/** Curated tables in the order they are built (order lines are enriched from the products). */
const TABLES: { table: CuratedTableName; source: 'orders' | 'order_items' | 'catalog' }[] = [
  { table: 'products', source: 'catalog' },
  { table: 'orders', source: 'orders' },
  { table: 'order_items', source: 'order_items' },
];

/**
 * raw → curated for one day: downloads every raw object of `dt=<date>` to a scratch directory and
 * hands them to DuckDB ({@link curateTable}), which validates each record (rejects go to
 * `quarantine/<source>/dt=…` with their reason), de-duplicates by key with the latest version
 * winning, enriches order lines with the catalog snapshot's name and category, and writes one
 * Parquet file per table and day. DuckDB's memory is bounded (`ETL_DUCKDB_MEMORY_MB`); past it, it
 * spills to the scratch directory.
 *
 * Everything is written under `_staging/<runId>/` first and published at the end (one object per
 * partition, copied over the old one), so a crash leaves the published lake as it was.
 */
export async function transformDay(
  options: TransformOptions,
): Promise<StageStats & { tables: Record<string, StageStats> }> {
  const started = performance.now();
  const { runId, date } = options;
  sweepStaleScratchDirs(); // left by a worker that was killed (timeout, out of memory)
  const dir = createScratchDir('transform');
  const tables: Record<string, StageStats> = {};
  const published: string[] = [];
  const engine = await DuckDbEngine.create({ dir: path.join(dir, 'duckdb'), ...duckResources() });
  try {
    for (const { table, source } of TABLES) {
      const t0 = performance.now();
      const objects = (await listKeys('raw', partition(source, date))).filter((o) =>
        o.key.endsWith('.jsonl.gz'),
      );
      const files: RawFile[] = [];
      for (const object of objects) {
        const file = path.join(dir, 'raw', object.key);
        mkdirSync(path.dirname(file), { recursive: true });
        await pipeline(await getStream('raw', object.key), createWriteStream(file));
        files.push({ file, key: object.key });
      }
      const parquet = path.join(dir, `${table}.parquet`);
      const quarantine = path.join(dir, `${table}-${QUARANTINE_FILE}`);
      const stats = await curateTable(engine, { table, files, parquet, quarantine });
      const curatedKey = `${partition(table, date)}${CURATED_FILE}`;
      const quarantineKey = `quarantine/${partition(source, date)}${QUARANTINE_FILE}`;
      if (stats.rowsRead > 0) {
        await putFile('curated', stagingKey(runId, curatedKey), parquet, 'application/vnd.apache.parquet');
        published.push(curatedKey);
      }
      if (stats.rowsQuarantined > 0) {
        await putFile('curated', stagingKey(runId, quarantineKey), quarantine, 'application/gzip');
        published.push(quarantineKey);
      }
      tables[table] = {
        ...stats,
        bytesRead: objects.reduce((n, o) => n + o.size, 0),
        bytesWritten: statSync(parquet).size + (stats.rowsQuarantined ? statSync(quarantine).size : 0),
        durationMs: Math.round(performance.now() - t0),
      };
    }
    await publish('curated', runId, published);
    const sum = (field: 'rowsRead' | 'rowsWritten' | 'rowsQuarantined' | 'bytesRead') =>
      Object.values(tables).reduce((n, t) => n + (t[field] ?? 0), 0);
    return {
      rowsRead: sum('rowsRead'),
      rowsWritten: sum('rowsWritten'),
      rowsQuarantined: sum('rowsQuarantined'),
      bytesRead: sum('bytesRead'),
      durationMs: Math.round(performance.now() - started),
      objects: published,
      tables,
    };
  } finally {
    await engine.close();
    removeScratchDir(dir);
  }
}
