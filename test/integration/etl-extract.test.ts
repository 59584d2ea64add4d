import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { s3ClientEnv } from '../../local/emulators/s3.ts';
import { extractOrders } from '../../shared/etl/adapters/extract.ts';
import { EPOCH_WATERMARK } from '../../shared/etl/adapters/state.ts';
import { migrateUp } from '../../shared/platform/adapters/migrate.ts';
import { getObject, listObjects, s3 } from './etl-helpers.ts';
import { eventually, uniqueId } from './helpers.ts';

/**
 * extractOrders in this process against a database and a raw bucket of its own (on the suite's
 * Postgres server and s3rver), so the rows are exactly the ones inserted here.
 */
const saved = { ...process.env };
let pool: pg.Pool;
let admin: pg.Client;
let database: string;
let bucket: string;

beforeAll(async () => {
  const url = new URL(inject('endpoints').databaseUrl);
  database = uniqueId('extract').replaceAll('-', '_');
  admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`create database ${database}`);
  url.pathname = `/${database}`;
  await migrateUp({ connectionString: url.toString() });
  pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  bucket = uniqueId('raw-extract').toLowerCase();
  await s3().send(new CreateBucketCommand({ Bucket: bucket }));
  Object.assign(process.env, {
    LAKE_RAW_BUCKET: bucket,
    ...s3ClientEnv(inject('endpoints').s3),
  });
});

afterAll(async () => {
  await pool?.end();
  // pool.end() resolves before its backends have gone; dropping the database `with (force)` while one
  // is still leaving makes Postgres send that client a FATAL 57P01 (an unhandled error in the run).
  await eventually(async () => {
    const { rows } = await admin.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where datname = $1',
      [database],
    );
    expect(rows[0]?.n).toBe(0);
  });
  await admin?.query(`drop database if exists ${database} with (force)`);
  await admin?.end();
  process.env = saved;
});

async function insertOrder(id: string, userId: string, updatedAt: string, lines: [string, number][]) {
  await pool.query(
    `insert into orders (order_id, region, user_id, status, total_cents, created_at, updated_at)
     values ($1, 'eu', $2, 'PLACED', 100, $3, $3)`,
    [id, userId, updatedAt],
  );
  for (const [product, quantity] of lines)
    await pool.query(
      `insert into order_items (region, order_id, product_id, quantity, unit_price_cents) values ('eu', $1, $2, $3, 50)`,
      [id, product, quantity],
    );
}

const lines = async (key: string) =>
  gunzipSync(await getObject(bucket, key))
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('extractOrders (COPY … TO STDOUT)', () => {
  it('writes every order and line of the window as JSON Lines, unusual text intact, and returns the watermark', async () => {
    // Text that COPY's text format would escape, and CSV would quote: it must arrive unchanged.
    const tricky = 'user "quoted" \\ back\\slash, comma; tab\there\nnewline ünïcødé \u0001';
    await insertOrder('00000000-0000-4000-8000-000000000001', 'alice', '2025-05-01T10:00:00.000001Z', [
      ['p1', 2],
    ]);
    await insertOrder('00000000-0000-4000-8000-000000000002', tricky, '2025-05-01T11:00:00.5Z', [
      ['p1', 1],
      ['p2', 3],
    ]);
    const first = await extractOrders(pool, '2025-05-01', {
      after: EPOCH_WATERMARK,
      upTo: '2025-05-01T23:59:59.999Z',
    });
    expect(first.orders.rowsRead).toBe(2);
    expect(first.items.rowsRead).toBe(3);
    expect(first.watermark).toEqual({
      updatedAt: '2025-05-01T11:00:00.5+00:00',
      orderId: '00000000-0000-4000-8000-000000000002',
    });
    const [ordersKey] = await listObjects(bucket, 'orders/dt=2025-05-01/');
    const [itemsKey] = await listObjects(bucket, 'order_items/dt=2025-05-01/');
    const orders = await lines(ordersKey as string);
    expect(orders.map((o) => o.user_id)).toEqual(['alice', tricky]);
    expect(orders[0]).toMatchObject({
      order_id: '00000000-0000-4000-8000-000000000001',
      total_cents: 100,
      updated_at: '2025-05-01T10:00:00.000001+00:00',
    });
    const items = await lines(itemsKey as string);
    expect(items.map((i) => [i.order_id, i.product_id, i.quantity, i.order_updated_at])).toEqual([
      ['00000000-0000-4000-8000-000000000001', 'p1', 2, '2025-05-01T10:00:00.000001+00:00'],
      ['00000000-0000-4000-8000-000000000002', 'p1', 1, '2025-05-01T11:00:00.5+00:00'],
      ['00000000-0000-4000-8000-000000000002', 'p2', 3, '2025-05-01T11:00:00.5+00:00'],
    ]);

    // The next extract starts after the watermark: only the order changed since.
    await insertOrder('00000000-0000-4000-8000-000000000003', 'carol', '2025-05-01T12:00:00Z', [['p3', 1]]);
    const second = await extractOrders(pool, '2025-05-01', {
      after: first.watermark,
      upTo: '2025-05-01T23:59:59.999Z',
    });
    expect(second.orders.rowsRead).toBe(1);
    expect(second.items.rowsRead).toBe(1);
    expect(second.watermark.orderId).toBe('00000000-0000-4000-8000-000000000003');

    // Nothing new: no object, the watermark stays.
    const third = await extractOrders(pool, '2025-05-01', {
      after: second.watermark,
      upTo: '2025-05-01T23:59:59.999Z',
    });
    expect(third.orders.rowsRead).toBe(0);
    expect(third.watermark).toEqual(second.watermark);
    expect(await listObjects(bucket, 'orders/')).toHaveLength(2);
  });
});
