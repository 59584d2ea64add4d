/**
 * The lake's record types and their validation: raw JSON in, a typed curated row or a reason out.
 * Pure functions (unit-tested); nothing here touches S3 or a database.
 */
import { REGIONS } from '../../events/schemas.ts';
import { UUID } from '../ids.ts';

const STATUSES = ['PLACED', 'CANCELLED'] as const;
/** Postgres' JSON rendering of timestamptz: `2025-05-01T10:00:00.123456+00:00` (fraction optional). */
const PG_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/;

export interface CuratedOrder {
  order_id: string;
  region: string;
  user_id: string;
  status: string;
  total_cents: bigint;
  created_at: Date;
  updated_at: Date;
  /** Microseconds since the epoch of `updated_at`: the version, latest wins. */
  version: bigint;
  /** `YYYY-MM-DD` (UTC) the order was placed: the day it counts for in the analytics. */
  order_date: string;
}

export interface CuratedOrderItem {
  order_id: string;
  region: string;
  product_id: string;
  quantity: number;
  unit_price_cents: bigint;
  line_cents: bigint;
  product_name: string;
  category: string;
  version: bigint;
  order_date: string;
}

export interface CuratedProduct {
  product_id: string;
  name: string;
  category: string;
  price_cents: bigint;
  currency: string;
}

export type Validated<T> = { ok: true; row: T; key: string; version: bigint } | { ok: false; reason: string };

/** Microseconds since the epoch of a Postgres timestamptz text, exactly (no float rounding). */
export function timestampMicros(text: unknown): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  const m = PG_TIMESTAMP.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[4]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1000n + BigInt((m[3] ?? '').padEnd(6, '0'));
}

const utcDate = (micros: bigint) => new Date(Number(micros / 1000n)).toISOString().slice(0, 10);
const isInt = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;

export function validateOrder(record: Record<string, unknown>): Validated<CuratedOrder> {
  const r = record;
  if (typeof r.order_id !== 'string' || !UUID.test(r.order_id)) return fail('order_id is not a UUID');
  if (!REGIONS.includes(r.region as never)) return fail(`region ${JSON.stringify(r.region)} is unknown`);
  if (typeof r.user_id !== 'string' || !r.user_id) return fail('user_id is missing');
  if (!STATUSES.includes(r.status as never)) return fail(`status ${JSON.stringify(r.status)} is unknown`);
  if (!isInt(r.total_cents, 0)) return fail('total_cents is not a non-negative integer');
  const created = timestampMicros(r.created_at);
  const updated = timestampMicros(r.updated_at);
  if (created === undefined) return fail('created_at is not a timestamp');
  if (updated === undefined) return fail('updated_at is not a timestamp');
  if (updated < created) return fail('updated_at is before created_at');
  return {
    ok: true,
    key: String(r.order_id),
    version: updated,
    row: {
      order_id: r.order_id,
      region: String(r.region),
      user_id: r.user_id,
      status: String(r.status),
      total_cents: BigInt(r.total_cents),
      created_at: new Date(Number(created / 1000n)),
      updated_at: new Date(Number(updated / 1000n)),
      version: updated,
      order_date: utcDate(created),
    },
  };
}

/** An order line, enriched from the catalog snapshot (`unknown` category when the product is gone). */
export function validateOrderItem(
  record: Record<string, unknown>,
  catalog: ReadonlyMap<string, { name: string; category: string }>,
): Validated<CuratedOrderItem> {
  const r = record;
  if (typeof r.order_id !== 'string' || !UUID.test(r.order_id)) return fail('order_id is not a UUID');
  if (!REGIONS.includes(r.region as never)) return fail(`region ${JSON.stringify(r.region)} is unknown`);
  if (typeof r.product_id !== 'string' || !r.product_id) return fail('product_id is missing');
  if (!isInt(r.quantity, 1)) return fail('quantity is not a positive integer');
  if (!isInt(r.unit_price_cents, 0)) return fail('unit_price_cents is not a non-negative integer');
  const version = timestampMicros(r.order_updated_at);
  const created = timestampMicros(r.order_created_at);
  if (version === undefined || created === undefined) return fail('the order timestamps are missing');
  const product = catalog.get(r.product_id);
  return {
    ok: true,
    key: `${r.order_id}#${r.product_id}`,
    version,
    row: {
      order_id: r.order_id,
      region: String(r.region),
      product_id: r.product_id,
      quantity: r.quantity,
      unit_price_cents: BigInt(r.unit_price_cents),
      line_cents: BigInt(r.unit_price_cents) * BigInt(r.quantity),
      product_name: product?.name ?? 'unknown',
      category: product?.category ?? 'unknown',
      version,
      order_date: utcDate(created),
    },
  };
}

/** A catalog item as the snapshot read it (the table's own layout, see catalog-table.ts). */
export function validateProduct(record: Record<string, unknown>): Validated<CuratedProduct> {
  const r = record;
  if (typeof r.productId !== 'string' || !r.productId) return fail('productId is missing');
  if (typeof r.name !== 'string') return fail('name is missing');
  if (typeof r.category !== 'string') return fail('category is missing');
  if (!isInt(r.priceCents, 0)) return fail('priceCents is not a non-negative integer');
  return {
    ok: true,
    key: r.productId,
    version: BigInt(Number.isSafeInteger(r.version) ? (r.version as number) : 0),
    row: {
      product_id: r.productId,
      name: r.name,
      category: r.category,
      price_cents: BigInt(r.priceCents),
      currency: typeof r.currency === 'string' ? r.currency : 'EUR',
    },
  };
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** Parquet column types of each curated table, in column order. */
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
