import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../shared/etl/adapters/engines.ts';
import { REPORT_SQL } from '../../shared/etl/domain/sql.ts';

/**
 * The report SQL (shared/etl/domain/sql.ts) over curated tables whose keys appear in several `dt`
 * partitions: each report must see every order and line once, at its latest version.
 */
describe('REPORT_SQL: the latest version of each key, once', () => {
  let engine: DuckDbEngine;
  beforeAll(async () => {
    engine = await DuckDbEngine.create();
    // o1: placed on 05-01 (version 1), cancelled on 05-02 (version 2). o2: placed, and the same
    // change extracted twice (in dt 05-01 and 05-02, same version). o3: placed, one line changed.
    await engine.run(`create table curated_orders as select * from (values
      ('o1', 'eu', 'PLACED',    '2025-05-01', 1, '2025-05-01'),
      ('o1', 'eu', 'CANCELLED', '2025-05-01', 2, '2025-05-02'),
      ('o2', 'eu', 'PLACED',    '2025-05-01', 1, '2025-05-01'),
      ('o2', 'eu', 'PLACED',    '2025-05-01', 1, '2025-05-02'),
      ('o3', 'us', 'PLACED',    '2025-05-01', 1, '2025-05-01'),
      ('o3', 'us', 'PLACED',    '2025-05-01', 2, '2025-05-02')
    ) t(order_id, region, status, order_date, version, dt)`);
    await engine.run(`create table curated_order_items as select * from (values
      ('o1', 'p1', 1, 100, 'P1', 'tea',   1, '2025-05-01'),
      ('o1', 'p1', 1, 100, 'P1', 'tea',   2, '2025-05-02'),
      ('o2', 'p1', 2, 200, 'P1', 'tea',   1, '2025-05-01'),
      ('o2', 'p1', 2, 200, 'P1', 'tea',   1, '2025-05-02'),
      ('o3', 'p2', 1, 500, 'P2', 'books', 1, '2025-05-01'),
      ('o3', 'p2', 3, 1500, 'P2', 'books', 2, '2025-05-02')
    ) t(order_id, product_id, quantity, line_cents, product_name, category, version, dt)`);
  });
  afterAll(async () => {
    await engine.close();
  });

  it('daily_sales: o1 is cancelled, o2 counts once, o3 with its changed line', async () => {
    const rows = await engine.query(REPORT_SQL.daily_sales.sql(['2025-05-01']));
    expect(
      rows.map((r) => [r.region, r.category, Number(r.orders), Number(r.units), Number(r.revenue_cents)]),
    ).toEqual([
      ['eu', 'tea', 1, 2, 200],
      ['us', 'books', 1, 3, 1500],
    ]);
  });

  it('cancellations: one placed and one cancelled in eu, one placed in us', async () => {
    const rows = await engine.query(REPORT_SQL.cancellations.sql(['2025-05-01']));
    expect(rows.map((r) => [r.region, Number(r.placed_orders), Number(r.cancelled_orders)])).toEqual([
      ['eu', 1, 1],
      ['us', 1, 0],
    ]);
  });

  it('top_products: each product once, from the latest lines of placed orders', async () => {
    const rows = await engine.query(REPORT_SQL.top_products.sql(['2025-05-01']));
    expect(rows.map((r) => [Number(r.rank), r.product_id, Number(r.units), Number(r.revenue_cents)])).toEqual(
      [
        [1, 'p2', 3, 1500],
        [2, 'p1', 2, 200],
      ],
    );
  });
});
