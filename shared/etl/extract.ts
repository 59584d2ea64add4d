import * as path from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { dynamoDocumentClient } from '../adapters/aws-clients.ts';
import { toProduct } from '../adapters/catalog-table.ts';
import { requireEnv } from '../config.ts';
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
 * (watermark, upTo], in (updated_at, order_id) order, read in keyset pages of `pageSize` (memory is one
 * page), written as they are read to `raw/orders/dt=<date>/<batch>` and `raw/order_items/…`. Items carry
 * their order's `updated_at` (their version) and `created_at`. Returns the new watermark (unchanged
 * when nothing changed, and then no object is written).
 */
export async function extractOrders(
  db: pg.Pool,
  date: string,
  window: ExtractWindow,
  options: { pageSize?: number } = {},
): Promise<{ watermark: Watermark; orders: StageStats; items: StageStats }> {
  const started = performance.now();
  const pageSize = options.pageSize ?? 5000;
  sweepStaleScratchDirs();
  const dir = createScratchDir('extract');
  const name = batchName(window.after);
  const ordersFile = new GzipLinesFile(path.join(dir, 'orders.jsonl.gz'));
  const itemsFile = new GzipLinesFile(path.join(dir, 'items.jsonl.gz'));
  let cursor = window.after;
  try {
    for (;;) {
      const page = await db.query<{ line: string; version: string; order_id: string; region: string }>(
        `select row_to_json(o)::text as line, to_json(o.updated_at) #>> '{}' as version, o.order_id, o.region
           from orders o
          where (o.updated_at, o.order_id) > ($1::timestamptz, $2::uuid) and o.updated_at <= $3::timestamptz
          order by o.updated_at, o.order_id
          limit $4`,
        [cursor.updatedAt, cursor.orderId, window.upTo, pageSize],
      );
      if (!page.rows.length) break;
      for (const row of page.rows) await ordersFile.write(row.line);
      const items = await db.query<{ line: string }>(
        `select (to_jsonb(i) || jsonb_build_object('order_updated_at', o.updated_at, 'order_created_at', o.created_at))::text as line
           from order_items i join orders o on o.region = i.region and o.order_id = i.order_id
          where (i.region, i.order_id) in (select * from unnest($1::text[], $2::uuid[]))
          order by o.updated_at, i.order_id, i.product_id`,
        [page.rows.map((r) => r.region), page.rows.map((r) => r.order_id)],
      );
      for (const row of items.rows) await itemsFile.write(row.line);
      const last = page.rows[page.rows.length - 1] as { version: string; order_id: string };
      cursor = { updatedAt: last.version, orderId: last.order_id };
      if (page.rows.length < pageSize) break;
    }
    const ordersBytes = await ordersFile.close();
    const itemsBytes = await itemsFile.close();
    const objects: string[] = [];
    if (ordersFile.lines > 0) {
      // Lines first, orders last: a reader that sees the orders batch sees its lines.
      await putFile('raw', `${partition('order_items', date)}${name}`, itemsFile.file, 'application/gzip');
      await putFile('raw', `${partition('orders', date)}${name}`, ordersFile.file, 'application/gzip');
      objects.push(`${partition('order_items', date)}${name}`, `${partition('orders', date)}${name}`);
    }
    const durationMs = Math.round(performance.now() - started);
    return {
      watermark: cursor,
      orders: {
        rowsRead: ordersFile.lines,
        rowsWritten: ordersFile.lines,
        bytesRead: ordersFile.rawBytes,
        bytesWritten: ordersBytes,
        durationMs,
        objects,
      },
      items: {
        rowsRead: itemsFile.lines,
        rowsWritten: itemsFile.lines,
        bytesRead: itemsFile.rawBytes,
        bytesWritten: itemsBytes,
        durationMs,
      },
    };
  } finally {
    removeScratchDir(dir);
  }
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
