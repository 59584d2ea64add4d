import { describe, expect, it } from 'vitest';
import { ExternalDedup } from '../../shared/etl/external-sort.ts';
import { batchName, windowEnd } from '../../shared/etl/extract.ts';
import { timestampMicros, validateOrder, validateOrderItem } from '../../shared/etl/records.ts';
import { REPORT_SQL } from '../../shared/etl/sql.ts';

const order = {
  order_id: '3f1c2a9e-8b7d-4c6e-9f00-112233445566',
  region: 'eu',
  user_id: 'u1',
  status: 'PLACED',
  total_cents: 1200,
  created_at: '2025-05-01T23:59:59.5+00:00',
  updated_at: '2025-05-02T00:00:01.000123+00:00',
};

describe('ETL records', () => {
  it('reads Postgres timestamps to the microsecond, whatever the offset and fraction length', () => {
    expect(timestampMicros('2025-05-01T00:00:00+00:00')).toBe(1746057600000000n);
    expect(timestampMicros('2025-05-01T00:00:00.000001+00:00')).toBe(1746057600000001n);
    expect(timestampMicros('2025-05-01T02:00:00.5+02:00')).toBe(1746057600500000n);
    expect(timestampMicros('yesterday')).toBeUndefined();
  });

  it('types a valid order, dates it by creation (UTC) and versions it by updated_at', () => {
    const checked = validateOrder(order);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.row).toMatchObject({ order_date: '2025-05-01', total_cents: 1200n, status: 'PLACED' });
    expect(checked.version).toBe(timestampMicros(order.updated_at));
  });

  it('names the reason for every rejected record', () => {
    const reason = (r: Record<string, unknown>) => {
      const checked = validateOrder(r);
      return checked.ok ? 'ok' : checked.reason;
    };
    expect(reason({ ...order, order_id: 'x' })).toBe('order_id is not a UUID');
    expect(reason({ ...order, region: 'mars' })).toBe('region "mars" is unknown');
    expect(reason({ ...order, status: 'SHIPPED' })).toBe('status "SHIPPED" is unknown');
    expect(reason({ ...order, total_cents: -1 })).toBe('total_cents is not a non-negative integer');
    expect(reason({ ...order, updated_at: '2025-04-01T00:00:00+00:00' })).toBe(
      'updated_at is before created_at',
    );
  });

  it('enriches order lines from the catalog snapshot, unknown when the product is gone', () => {
    const item = {
      order_id: order.order_id,
      region: 'eu',
      product_id: 'p1',
      quantity: 3,
      unit_price_cents: 250,
      order_updated_at: order.updated_at,
      order_created_at: order.created_at,
    };
    const catalog = new Map([['p1', { name: 'Tea', category: 'drinks' }]]);
    expect(validateOrderItem(item, catalog)).toMatchObject({
      ok: true,
      key: `${order.order_id}#p1`,
      row: { category: 'drinks', product_name: 'Tea', line_cents: 750n },
    });
    expect(validateOrderItem({ ...item, product_id: 'p2' }, catalog)).toMatchObject({
      row: { category: 'unknown' },
    });
    expect(validateOrderItem({ ...item, quantity: 0 }, catalog)).toEqual({
      ok: false,
      reason: 'quantity is not a positive integer',
    });
  });
});

describe('ExternalDedup', () => {
  it('keeps the latest version of each key, in key order, across spilled chunks', async () => {
    const dedup = new ExternalDedup({ chunkRows: 3 });
    const input = [
      ['b', 1n],
      ['a', 2n],
      ['c', 1n],
      ['a', 5n],
      ['b', 3n],
      ['a', 1n],
      ['d', 1n],
    ] as const;
    for (const [key, version] of input) await dedup.add({ key, version, record: `${key}@${version}` });
    const out: string[] = [];
    for await (const item of dedup.drain()) out.push(item.record);
    expect(out).toEqual(['a@5', 'b@3', 'c@1', 'd@1']);
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
