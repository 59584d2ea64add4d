import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../shared/etl/adapters/engines.ts';
import { batchName, windowEnd } from '../../shared/etl/adapters/extract.ts';
import { REPORT_SQL } from '../../shared/etl/domain/sql.ts';
import { type CuratedTableName, type CurateStats, curateTable } from '../../shared/etl/use-cases/curate.ts';

const order = {
  order_id: '3f1c2a9e-8b7d-4c6e-9f00-112233445566',
  region: 'eu',
  user_id: 'u1',
  status: 'PLACED',
  total_cents: 1200,
  created_at: '2025-05-01T23:59:59.5+00:00',
  updated_at: '2025-05-02T00:00:01.000123+00:00',
};
const item = {
  order_id: order.order_id,
  region: 'eu',
  product_id: 'p1',
  quantity: 3,
  unit_price_cents: 250,
  order_updated_at: order.updated_at,
  order_created_at: order.created_at,
};
const product = { productId: 'p1', name: 'Tea', category: 'drinks', priceCents: 250 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'curate-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Lines = (string | Record<string, unknown>)[];
let run = 0;

/** Curates the given raw files (table → files of lines) on a fresh DuckDB; returns rows, rejects and stats. */
async function curate(input: Partial<Record<CuratedTableName, Lines[]>>, options: { exact?: boolean } = {}) {
  const out = path.join(dir, `run-${run++}`);
  const engine = await DuckDbEngine.create({ dir: path.join(out, 'spill'), memoryLimitMB: 128 });
  const result: Record<
    string,
    {
      rows: Record<string, unknown>[];
      rejected: Record<string, unknown>[];
      stats: CurateStats;
      bytes: Buffer[];
    }
  > = {};
  try {
    for (const table of ['products', 'orders', 'order_items'] as const) {
      const files = (input[table] ?? []).map((lines, i) => {
        const file = path.join(dir, `${table}-${run}-${i}.jsonl.gz`);
        const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
        writeFileSync(file, gzipSync(`${text}\n`));
        return { file, key: `${table}/dt=2025-05-01/batch-${i}.jsonl.gz` };
      });
      const parquet = path.join(dir, `${table}-${run}.parquet`);
      const quarantine = path.join(dir, `${table}-${run}-rejected.jsonl.gz`);
      const stats = await curateTable(engine, { table, files, parquet, quarantine, ...options });
      const rejected = stats.rowsQuarantined
        ? gunzipSync(readFileSync(quarantine))
            .toString()
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
      result[table] = {
        rows: await engine.query(`select * from '${parquet}'`),
        rejected,
        stats,
        bytes: [readFileSync(parquet), ...(stats.rowsQuarantined ? [readFileSync(quarantine)] : [])],
      };
    }
  } finally {
    await engine.close();
  }
  return result as Record<CuratedTableName, (typeof result)[string]>;
}

// DuckDB starts per case and writes files: generous on a loaded machine (the unit default is 5 s).
describe('curateTable (raw → curated in DuckDB)', { timeout: 60_000 }, () => {
  it('types a valid order, dates it by creation (UTC) and versions it by updated_at to the microsecond', async () => {
    const { orders } = await curate({
      orders: [
        [
          order,
          {
            ...order,
            order_id: '3f1c2a9e-8b7d-4c6e-9f00-112233445567',
            created_at: '2025-05-02T01:00:00.5+02:00',
            updated_at: '2025-05-02T01:00:00.5+02:00',
          },
        ],
      ],
    });
    expect(orders.rows).toHaveLength(2);
    expect(orders.rows[0]).toMatchObject({
      order_id: order.order_id,
      order_date: '2025-05-01',
      total_cents: 1200n,
      status: 'PLACED',
      version: 1746144001000123n,
    });
    // An offset is applied: 01:00+02:00 is 23:00 UTC the day before.
    expect(orders.rows[1]).toMatchObject({ order_date: '2025-05-01', version: 1746140400500000n });
  });

  it('names the reason and the line of every rejected record, and keeps the valid ones', async () => {
    const lines: Lines = [
      order,
      '{"order_id": "broken',
      '',
      { ...order, order_id: 'x' },
      { ...order, region: 'mars' },
      { ...order, status: 'SHIPPED' },
      { ...order, total_cents: -1 },
      { ...order, total_cents: '1200' },
      { ...order, user_id: 7 },
      { ...order, updated_at: '2025-04-01T00:00:00+00:00' },
      { ...order, created_at: 'yesterday' },
      '[1]',
    ];
    const { orders } = await curate({ orders: [lines] });
    expect(orders.rows.map((r) => r.order_id)).toEqual([order.order_id]);
    expect(orders.rejected.map((r) => [r.line, r.reason])).toEqual([
      [2, expect.stringMatching(/^invalid JSON/)],
      [4, 'order_id is not a UUID'],
      [5, 'region "mars" is unknown'],
      [6, 'status "SHIPPED" is unknown'],
      [7, 'total_cents is not a non-negative integer'],
      [8, 'total_cents is not a non-negative integer'],
      [9, 'user_id is missing'],
      [10, 'updated_at is before created_at'],
      [11, 'created_at is not a timestamp'],
      [12, 'invalid JSON: not an object'],
    ]);
    expect(orders.rejected[0]).toMatchObject({
      object: 'orders/dt=2025-05-01/batch-0.jsonl.gz',
      record: '{"order_id": "broken',
    });
    expect(orders.stats).toMatchObject({ rowsRead: 11, rowsWritten: 1, rowsQuarantined: 10, duplicates: 0 });
  });

  it('keeps the latest version of each key, whichever file or line it came from', async () => {
    const placed = order;
    const cancelled = { ...order, status: 'CANCELLED', updated_at: '2025-05-02T00:00:01.000124+00:00' };
    const a = await curate({ orders: [[cancelled], [placed, placed]] });
    const b = await curate({ orders: [[placed], [cancelled, placed]] });
    expect(a.orders.rows.map((r) => r.status)).toEqual(['CANCELLED']);
    expect(a.orders.stats).toMatchObject({ rowsRead: 3, rowsWritten: 1, duplicates: 2 });
    expect(b.orders.bytes).toEqual(a.orders.bytes);
  });

  it('enriches order lines from the catalog snapshot, unknown when the product is gone', async () => {
    const { order_items } = await curate({
      products: [[product, { ...product, productId: 'p9', priceCents: 'free' }]],
      order_items: [[item, { ...item, product_id: 'p2' }, { ...item, quantity: 0 }]],
    });
    expect(order_items.rows).toEqual([
      expect.objectContaining({
        product_id: 'p1',
        category: 'drinks',
        product_name: 'Tea',
        line_cents: 750n,
      }),
      expect.objectContaining({ product_id: 'p2', category: 'unknown', product_name: 'unknown' }),
    ]);
    expect(order_items.rejected.map((r) => r.reason)).toEqual(['quantity is not a positive integer']);
  });

  it('reads clean files with the JSON reader (fast path), and gives what the line-by-line path gives', async () => {
    const cancelled = { ...order, status: 'CANCELLED', updated_at: '2025-05-02T00:00:01.000124+00:00' };
    const input = {
      products: [[product, { ...product, productId: 'p2', name: 'Mug', extra: { nested: [1] } }]],
      // Blank lines, spaces and tabs included: blank on both paths (the JSON reader skips them).
      orders: [[order, '', ' \t ', cancelled], [order]],
      order_items: [[item, { ...item, product_id: 'p2' }, item]],
    };
    const fast = await curate(input);
    const exact = await curate(input, { exact: true });
    for (const table of ['products', 'orders', 'order_items'] as const) {
      expect(fast[table].stats.path).toBe('fast');
      expect(exact[table].stats.path).toBe('exact');
      expect({ ...fast[table].stats, path: 'exact' }).toEqual(exact[table].stats);
      expect(fast[table].bytes).toEqual(exact[table].bytes);
    }
    expect(fast.orders.stats).toMatchObject({ rowsRead: 3, rowsWritten: 1, duplicates: 2 });
    expect(fast.orders.rows.map((r) => r.status)).toEqual(['CANCELLED']);
  });

  it('falls back to the line-by-line path for every line the JSON reader or a check refuses', async () => {
    for (const bad of [
      'null',
      '{}',
      '[1]',
      '{"order_id": "broken',
      `${JSON.stringify(order)} {}`,
      { ...order, region: 'mars' },
    ]) {
      const { orders } = await curate({ orders: [[order, bad]] });
      expect(orders.stats).toMatchObject({ path: 'exact', rowsRead: 2, rowsQuarantined: 1, rowsWritten: 1 });
      expect(orders.rejected).toEqual([
        expect.objectContaining({ line: 2, record: typeof bad === 'string' ? bad : JSON.stringify(bad) }),
      ]);
    }
    // Duplicate fields: the JSON reader refuses them, from_json takes the record (the exact path decides).
    const { orders } = await curate({ orders: [[`{"region": "us", ${JSON.stringify(order).slice(1)}`]] });
    expect(orders.stats).toMatchObject({ path: 'exact', rowsRead: 1, rowsQuarantined: 0, rowsWritten: 1 });
  });

  it('writes the same bytes for the same input (re-runs leave identical objects)', async () => {
    const input = {
      products: [[product]],
      orders: [[order, { ...order, region: 'mars' }]],
      order_items: [[item]],
    };
    const first = await curate(input);
    const second = await curate(input);
    for (const table of ['products', 'orders', 'order_items'] as const)
      expect(second[table].bytes).toEqual(first[table].bytes);
    expect(first.orders.bytes).toHaveLength(2); // the Parquet file and the quarantine
  });
});

describe('extract window', () => {
  it('ends at the end of the day, or earlier by the settle time when the day is today', () => {
    expect(windowEnd('2025-05-01', new Date('2025-06-01T00:00:00Z'), 60)).toBe('2025-05-01T23:59:59.999Z');
    expect(windowEnd('2025-05-01', new Date('2025-05-01T12:00:00Z'), 60)).toBe('2025-05-01T11:59:00.000Z');
  });

  it('names a raw batch by where its window starts, so a re-run overwrites it', () => {
    const a = batchName({ updatedAt: '2025-05-01T10:00:00.123456+00:00', orderId: 'abcdef12-0000' });
    expect(a).toBe(batchName({ updatedAt: '2025-05-01T10:00:00.123456+00:00', orderId: 'abcdef12-0000' }));
    expect(a).toMatch(/^batch-\d+-abcdef12\.jsonl\.gz$/);
  });
});

describe('report SQL', () => {
  it('uses only what Athena (Trino) and DuckDB share', () => {
    for (const spec of Object.values(REPORT_SQL)) {
      const sql = spec.sql(['2025-05-01']);
      expect(sql).not.toMatch(/\bqualify\b|::/i);
      expect(sql).toContain("'2025-05-01'");
    }
  });
});
