import { createWriteStream, statSync } from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { toProduct } from '../../catalog/adapters/catalog-table.ts';
import { requireEnv } from '../../config.ts';
import { dynamoDocumentClient } from '../../platform/adapters/aws-clients.ts';
import { GzipLinesFile } from './gzip-lines.ts';
import { partition, putFile } from './lake.ts';
import { createScratchDir, removeScratchDir, sweepStaleScratchDirs } from './scratch.ts';
import type { StageStats, Watermark } from './state.ts';

export interface ExtractWindow {
  /** Exclusive lower bound: the watermark the last extract left. */
  after: Watermark;
  /** Inclusive upper bound of `updated_at` (ISO): the end of the run's day, or now minus the settle time. */
  upTo: string;
}

/** Key of a raw batch: named by where its window starts, so a re-run of a crashed extract overwrites it. */
export const batchName = (after: Watermark) =>
  `batch-${after.updatedAt.replace(/[^0-9]/g, '').padEnd(20, '0')}-${after.orderId.slice(0, 8)}.jsonl.gz`;

/**
 * The window's upper bound: the end of `date` (UTC), but never later than now minus `settleSeconds`,
 * so a transaction that began before the extract and commits after it (its `updated_at` is its
 * start time) is still ahead of the watermark when the next run looks.
 */
export function windowEnd(date: string, now: Date, settleSeconds: number): string {
  const endOfDay = Date.parse(`${date}T00:00:00Z`) + 86_400_000 - 1;
  return new Date(Math.min(endOfDay, now.getTime() - settleSeconds * 1000)).toISOString();
}

/**
 * Incremental extract of orders and their lines from Postgres: every order whose `updated_at` is in
 * (watermark, upTo], in (updated_at, order_id) order, with their lines (which carry their order's
 * `updated_at`, their version, and `created_at`), written to `raw/orders/dt=<date>/<batch>` and
 * `raw/order_items/…`. Returns the new watermark (unchanged when nothing changed, and then no object
 * is written).
 *
 * Each table is one `COPY (query) TO STDOUT` streamed through gzip to a file (memory: stream
 * buffers, whatever the size); the two run at once in REPEATABLE READ transactions sharing one
 * snapshot, so lines and orders come from the same state of the database. Postgres renders the
 * JSON; CSV mode with a quote and delimiter that JSON text never contains (control characters are
 * escaped in JSON) passes each line through unchanged.
 */
export async function extractOrders(
  db: pg.Pool,
  date: string,
  window: ExtractWindow,
): Promise<{ watermark: Watermark; orders: StageStats; items: StageStats }> {
  const started = performance.now();
  sweepStaleScratchDirs();
  const dir = createScratchDir('extract');
  const name = batchName(window.after);
  const client = await db.connect();
  // The lines' COPY runs beside the orders' on a second connection that imports the first one's
  // snapshot (`pg_export_snapshot`): both see the same data, and the two streams (Postgres' JSON
  // rendering, our gzip) use two cores instead of one after the other.
  let second: pg.PoolClient | undefined;
  try {
    const after = `(${client.escapeLiteral(window.after.updatedAt)}::timestamptz, ${client.escapeLiteral(window.after.orderId)}::uuid)`;
    const upTo = `${client.escapeLiteral(window.upTo)}::timestamptz`;
    // A bulk export may run for minutes: its own bound, below the ETL function's 15-minute timeout,
    // instead of the request-path statement timeout the pool may carry.
    const begin = async (c: pg.PoolClient, snapshot?: string) => {
      await c.query('begin isolation level repeatable read read only');
      if (snapshot) await c.query(`set transaction snapshot ${c.escapeLiteral(snapshot)}`);
      await c.query(`set local statement_timeout = '14min'`);
    };
    await begin(client);
    const { rows } = await client.query<{ id: string }>('select pg_export_snapshot() as id');
    second = await db.connect();
    await begin(second, rows[0]?.id);
    const [orders, items] = await Promise.all([
      copyToGzip(
        client,
        `select row_to_json(o)::text from orders o
          where (o.updated_at, o.order_id) > ${after} and o.updated_at <= ${upTo}
          order by o.updated_at, o.order_id`,
        path.join(dir, 'orders.jsonl.gz'),
      ),
      copyToGzip(
        second,
        `select (to_jsonb(i) || jsonb_build_object('order_updated_at', o.updated_at, 'order_created_at', o.created_at))::text
           from order_items i join orders o on o.region = i.region and o.order_id = i.order_id
          where (o.updated_at, o.order_id) > ${after} and o.updated_at <= ${upTo}
          order by o.updated_at, i.order_id, i.product_id`,
        path.join(dir, 'items.jsonl.gz'),
      ),
    ]);
    await Promise.all([client.query('commit'), second.query('commit')]);
    let watermark = window.after;
    const objects: string[] = [];
    if (orders.lines > 0) {
      const last = JSON.parse(orders.lastLine) as { updated_at: string; order_id: string };
      watermark = { updatedAt: last.updated_at, orderId: last.order_id };
      // Lines first, orders last: a reader that sees the orders batch sees its lines.
      await putFile('raw', `${partition('order_items', date)}${name}`, items.file, 'application/gzip');
      await putFile('raw', `${partition('orders', date)}${name}`, orders.file, 'application/gzip');
      objects.push(`${partition('order_items', date)}${name}`, `${partition('orders', date)}${name}`);
    }
    const durationMs = Math.round(performance.now() - started);
    const stats = (c: CopyResult, extra: Partial<StageStats> = {}): StageStats => ({
      rowsRead: c.lines,
      rowsWritten: c.lines,
      bytesRead: c.rawBytes,
      bytesWritten: c.gzBytes,
      durationMs,
      ...extra,
    });
    return { watermark, orders: stats(orders, { objects }), items: stats(items) };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    await second?.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
    second?.release();
    removeScratchDir(dir);
  }
}

interface CopyResult {
  file: string;
  lines: number;
  rawBytes: number;
  gzBytes: number;
  lastLine: string;
}

/** `COPY (sql) TO STDOUT` of one text column → gzip → file; counts lines and keeps the last one. */
async function copyToGzip(client: pg.PoolClient, sql: string, file: string): Promise<CopyResult> {
  const copy = client.query(
    copyTo(`copy (${sql}) to stdout with (format csv, quote e'\\x01', delimiter e'\\x02')`),
  );
  let lines = 0;
  let rawBytes = 0;
  let tail: Buffer = Buffer.alloc(0);
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      rawBytes += chunk.length;
      let at = chunk.indexOf(10);
      while (at >= 0) {
        lines++;
        at = chunk.indexOf(10, at + 1);
      }
      // Keep the bytes after the second-to-last newline seen so far: the last line, once complete.
      const joined = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      const end = joined.lastIndexOf(10, joined.length - 2);
      tail = end >= 0 ? joined.subarray(end + 1) : joined;
      done(null, chunk);
    },
  });
  // Level 1: about three times gzip 6's speed for files about a quarter larger; the extract is the
  // stage that holds a database snapshot open, and the raw zone is read once, by the transform.
  await pipeline(copy, count, createGzip({ level: 1 }), createWriteStream(file));
  return {
    file,
    lines,
    rawBytes,
    gzBytes: statSync(file).size,
    lastLine: tail.toString('utf8').trimEnd(),
  };
}

/**
 * A snapshot of the catalog: a parallel Scan (`segments` workers), each segment written as read to
 * `raw/catalog/dt=<date>/segment-<i>-of-<n>.jsonl.gz`. An export, off the request path, so a Scan is
 * the right tool; only product items are kept.
 */
export async function extractCatalog(date: string, segments = 4): Promise<StageStats> {
  const started = performance.now();
  const table = requireEnv('CATALOG_TABLE');
  const dir = createScratchDir('catalog');
  try {
    const results = await Promise.all(
      Array.from({ length: segments }, async (_, segment) => {
        const file = new GzipLinesFile(path.join(dir, `segment-${segment}.jsonl.gz`));
        let startKey: Record<string, unknown> | undefined;
        do {
          const out = await dynamoDocumentClient().send(
            new ScanCommand({
              TableName: table,
              Segment: segment,
              TotalSegments: segments,
              ExclusiveStartKey: startKey,
              FilterExpression: 'sk = :product',
              ExpressionAttributeValues: { ':product': 'PRODUCT' },
            }),
          );
          for (const item of out.Items ?? []) await file.write(JSON.stringify(toProduct(item)));
          startKey = out.LastEvaluatedKey;
        } while (startKey);
        const bytes = await file.close();
        const key = `${partition('catalog', date)}segment-${segment}-of-${segments}.jsonl.gz`;
        await putFile('raw', key, file.file, 'application/gzip');
        return { lines: file.lines, raw: file.rawBytes, bytes, key };
      }),
    );
    return {
      rowsRead: results.reduce((n, r) => n + r.lines, 0),
      rowsWritten: results.reduce((n, r) => n + r.lines, 0),
      bytesRead: results.reduce((n, r) => n + r.raw, 0),
      bytesWritten: results.reduce((n, r) => n + r.bytes, 0),
      durationMs: Math.round(performance.now() - started),
      objects: results.map((r) => r.key),
    };
  } finally {
    removeScratchDir(dir);
  }
}
