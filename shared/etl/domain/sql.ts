/**
 * The analytics, as SQL: the same text runs on DuckDB (local, over the curated Parquet files) and on
 * Athena (Trino, over the Glue tables with partition projection). Only ANSI features both share are
 * used: CTEs, window functions, `count(distinct)`, no QUALIFY.
 *
 * Tables: `curated_orders` and `curated_order_items`, partitioned by `dt` (the day a change was
 * extracted). A key can appear in several partitions (placed one day, cancelled the next): the
 * `*_latest` CTEs keep its latest version, so every report sees each order once, as it is now.
 * They join each key's `max(version)` back to its rows (a hash aggregate and a hash join, which
 * spill past DuckDB's memory limit) and keep only the columns the reports use; the same change
 * extracted into two partitions counts once (the latest dt). A `row_number()` window over whole rows ran out of memory at 1M
 * orders within the aggregate's 256 MB, also with one thread or 320 MB.
 */
import type { ParquetType } from './records.ts';

/** Each key's latest row: its greatest version and, should one change be in two partitions, the latest dt. */
const latestKeys = (table: string, key: string[]) => {
  const on = (a: string, b: string) => key.map((k) => `${a}.${k} = ${b}.${k}`).join(' and ');
  return `(
    select ${key.map((k) => `c.${k}`).join(', ')}, c.version, max(c.dt) as dt
    from ${table} c
    join (select ${key.join(', ')}, max(version) as version from ${table} group by ${key.join(', ')}) v
      on ${on('v', 'c')} and v.version = c.version
    group by ${key.map((k) => `c.${k}`).join(', ')}, c.version
  )`;
};

const LATEST = `
with orders_latest as (
  select o.order_id, o.region, o.status, o.order_date
  from curated_orders o
  join ${latestKeys('curated_orders', ['order_id'])} m
    on m.order_id = o.order_id and m.version = o.version and m.dt = o.dt
),
items_latest as (
  select i.order_id, i.product_id, i.quantity, i.line_cents, i.product_name, i.category
  from curated_order_items i
  join ${latestKeys('curated_order_items', ['order_id', 'product_id'])} m
    on m.order_id = i.order_id and m.product_id = i.product_id and m.version = i.version and m.dt = i.dt
)`;

/** Order days touched by the changes extracted on `dt`: the analytics partitions a run rewrites. */
export const AFFECTED_DATES = (dt: string) =>
  `select distinct order_date as dt from curated_orders where dt = '${dt}' order by 1`;

const inDates = (dates: string[]) => dates.map((d) => `'${d}'`).join(', ');

export interface ReportSpec {
  columns: readonly (readonly [string, ParquetType])[];
  sql: (dates: string[]) => string;
}

export const REPORT_SQL = {
  /** Placed orders only: orders, units and revenue per day, region and category. */
  daily_sales: {
    columns: [
      ['dt', 'STRING'],
      ['region', 'STRING'],
      ['category', 'STRING'],
      ['orders', 'INT64'],
      ['units', 'INT64'],
      ['revenue_cents', 'INT64'],
    ],
    sql: (dates) => `${LATEST}
select o.order_date as dt, o.region, i.category,
       count(distinct o.order_id) as orders,
       sum(i.quantity) as units,
       sum(i.line_cents) as revenue_cents
from orders_latest o join items_latest i on i.order_id = o.order_id
where o.status = 'PLACED' and o.order_date in (${inDates(dates)})
group by o.order_date, o.region, i.category
order by 1, 2, 3`,
  },
  /** The ten best-selling products of each day by revenue (placed orders). */
  top_products: {
    columns: [
      ['dt', 'STRING'],
      ['rank', 'INT64'],
      ['product_id', 'STRING'],
      ['product_name', 'STRING'],
      ['category', 'STRING'],
      ['units', 'INT64'],
      ['revenue_cents', 'INT64'],
    ],
    sql: (dates) => `${LATEST},
per_product as (
  select o.order_date as dt, i.product_id, max(i.product_name) as product_name, max(i.category) as category,
         sum(i.quantity) as units, sum(i.line_cents) as revenue_cents
  from orders_latest o join items_latest i on i.order_id = o.order_id
  where o.status = 'PLACED' and o.order_date in (${inDates(dates)})
  group by o.order_date, i.product_id
)
select dt, rank, product_id, product_name, category, units, revenue_cents from (
  select p.*, row_number() over (partition by dt order by revenue_cents desc, product_id) as rank from per_product p
) ranked where rank <= 10
order by 1, 2`,
  },
  /** Placed and cancelled orders per day and region, and the share cancelled. */
  cancellations: {
    columns: [
      ['dt', 'STRING'],
      ['region', 'STRING'],
      ['placed_orders', 'INT64'],
      ['cancelled_orders', 'INT64'],
      ['cancellation_rate', 'DOUBLE'],
    ],
    sql: (dates) => `${LATEST}
select order_date as dt, region,
       sum(case when status = 'PLACED' then 1 else 0 end) as placed_orders,
       sum(case when status = 'CANCELLED' then 1 else 0 end) as cancelled_orders,
       cast(sum(case when status = 'CANCELLED' then 1 else 0 end) as double) / count(*) as cancellation_rate
from orders_latest
where order_date in (${inDates(dates)})
group by order_date, region
order by 1, 2`,
  },
} as const satisfies Record<string, ReportSpec>;

export type ReportName = keyof typeof REPORT_SQL;
