import { statSync } from 'node:fs';
import * as path from 'node:path';
import { ExternalDedup } from './external-sort.ts';
import { GzipLinesFile, gunzipLines } from './gzip-lines.ts';
import { getStream, listKeys, partition, publish, putFile, stagingKey } from './lake.ts';
import { ParquetFile } from './parquet.ts';
import {
  CURATED_SCHEMAS,
  type Validated,
  validateOrder,
  validateOrderItem,
  validateProduct,
} from './records.ts';
import { createScratchDir, removeScratchDir, sweepStaleScratchDirs } from './scratch.ts';
import type { StageStats } from './state.ts';

export const CURATED_FILE = 'part-00000.parquet';
export const QUARANTINE_FILE = 'rejected.jsonl.gz';

export interface TransformOptions {
  runId: string;
  date: string;
  /** Rows per sorted chunk spilled to disk (memory bound of the de-duplication). */
  chunkRows?: number;
  /** Rows per Parquet row group (memory bound of the writer). */
  rowGroupRows?: number;
  /** Called between staging and publishing: the crash-test hook. */
  beforePublish?: () => Promise<void>;
}

interface TableSpec {
  table: keyof typeof CURATED_SCHEMAS;
  source: 'orders' | 'order_items' | 'catalog';
  validate: (record: Record<string, unknown>) => Validated<Record<string, unknown>>;
}

/**
 * raw → curated for one day: streams every raw object of `dt=<date>` line by line, validates each
 * record (rejects go to `quarantine/<source>/dt=…` with their reason), de-duplicates by key with the
 * latest version winning (external sort: bounded memory), enriches order lines with the catalog
 * snapshot's name and category, and writes one Parquet file per table and day.
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
  try {
    // The catalog snapshot first: order lines are enriched from it (memory: one entry per product).
    const catalog = new Map<string, { name: string; category: string }>();
    const specs: TableSpec[] = [
      {
        table: 'products',
        source: 'catalog',
        validate: (r) => {
          const v = validateProduct(r);
          if (v.ok) catalog.set(v.row.product_id, { name: v.row.name, category: v.row.category });
          return v as Validated<Record<string, unknown>>;
        },
      },
      {
        table: 'orders',
        source: 'orders',
        validate: (r) => validateOrder(r) as Validated<Record<string, unknown>>,
      },
      {
        table: 'order_items',
        source: 'order_items',
        validate: (r) => validateOrderItem(r, catalog) as Validated<Record<string, unknown>>,
      },
    ];
    for (const spec of specs) {
      const t0 = performance.now();
      const objects = (await listKeys('raw', partition(spec.source, date))).filter((o) =>
        o.key.endsWith('.jsonl.gz'),
      );
      const dedup = new ExternalDedup({ chunkRows: options.chunkRows, tmpDir: dir });
      const rejected = new GzipLinesFile(path.join(dir, `${spec.table}-rejected.jsonl.gz`));
      let rowsRead = 0;
      let bytesRead = 0;
      for (const object of objects) {
        bytesRead += object.size;
        let lineNo = 0;
        for await (const line of gunzipLines(await getStream('raw', object.key))) {
          lineNo++;
          if (!line.trim()) continue;
          rowsRead++;
          let record: Record<string, unknown>;
          try {
            record = JSON.parse(line) as Record<string, unknown>;
            if (!record || typeof record !== 'object' || Array.isArray(record))
              throw new Error('not an object');
          } catch (error) {
            await rejected.write(
              JSON.stringify({
                reason: `invalid JSON: ${(error as Error).message}`,
                object: object.key,
                line: lineNo,
                record: line,
              }),
            );
            continue;
          }
          const checked = spec.validate(record);
          if (!checked.ok) {
            await rejected.write(
              JSON.stringify({ reason: checked.reason, object: object.key, line: lineNo, record: line }),
            );
            continue;
          }
          await dedup.add({ key: checked.key, version: checked.version, record: line });
        }
      }
      const file = path.join(dir, `${spec.table}.parquet`);
      const parquet = new ParquetFile(file, CURATED_SCHEMAS[spec.table], {
        rowGroupRows: options.rowGroupRows,
      });
      for await (const winner of dedup.drain()) {
        const checked = spec.validate(JSON.parse(winner.record) as Record<string, unknown>);
        if (checked.ok) parquet.append(checked.row);
      }
      parquet.close();
      const rejectedBytes = await rejected.close();
      const curatedKey = `${partition(spec.table, date)}${CURATED_FILE}`;
      const quarantineKey = `quarantine/${partition(spec.source, date)}${QUARANTINE_FILE}`;
      if (rowsRead > 0) {
        await putFile('curated', stagingKey(runId, curatedKey), file, 'application/vnd.apache.parquet');
        published.push(curatedKey);
      }
      if (rejected.lines > 0) {
        await putFile('curated', stagingKey(runId, quarantineKey), rejected.file, 'application/gzip');
        published.push(quarantineKey);
      }
      tables[spec.table] = {
        rowsRead,
        rowsWritten: parquet.rows,
        rowsQuarantined: rejected.lines,
        duplicates: dedup.added - parquet.rows,
        bytesRead,
        bytesWritten: statSync(file).size + (rejected.lines ? rejectedBytes : 0),
        durationMs: Math.round(performance.now() - t0),
      };
    }
    await options.beforePublish?.();
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
    removeScratchDir(dir);
  }
}
