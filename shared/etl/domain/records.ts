/**
 * The curated tables' columns (the Parquet files, the Glue tables, the DuckDB views). Validation
 * and typing of the raw records happens in SQL: see curate.ts.
 *
 * Parquet column types of each curated table, in column order.
 */
export const CURATED_SCHEMAS = {
  orders: [
    ['order_id', 'STRING'],
    ['region', 'STRING'],
    ['user_id', 'STRING'],
    ['status', 'STRING'],
    ['total_cents', 'INT64'],
    ['created_at', 'TIMESTAMP'],
    ['updated_at', 'TIMESTAMP'],
    ['version', 'INT64'],
    ['order_date', 'STRING'],
  ],
  order_items: [
    ['order_id', 'STRING'],
    ['region', 'STRING'],
    ['product_id', 'STRING'],
    ['quantity', 'INT32'],
    ['unit_price_cents', 'INT64'],
    ['line_cents', 'INT64'],
    ['product_name', 'STRING'],
    ['category', 'STRING'],
    ['version', 'INT64'],
    ['order_date', 'STRING'],
  ],
  products: [
    ['product_id', 'STRING'],
    ['name', 'STRING'],
    ['category', 'STRING'],
    ['price_cents', 'INT64'],
    ['currency', 'STRING'],
  ],
} as const satisfies Record<string, readonly (readonly [string, ParquetType])[]>;

export type ParquetType = 'STRING' | 'INT32' | 'INT64' | 'DOUBLE' | 'TIMESTAMP';
