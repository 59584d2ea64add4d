import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { NewEvent } from '../../events/schemas.ts';
import { Refusal } from '../refusal.ts';
import type { Product } from './product.ts';

export type { Product } from './product.ts';

/** A category slug: lowercase letters, digits and dashes, e.g. `coffee-beans`. */
export const Category = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes');

/**
 * The fields an administrator sets on `POST /products` and replaces on `PUT /products/{id}`
 * (a missing `description` removes it). Unknown fields (`productId`, `available`, `version` … sent
 * back from a GET) are ignored: they are the catalog's, not the caller's.
 */
export const ProductInput = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().max(2000).optional(),
  category: Category,
  priceCents: z.int().min(0).max(100_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
});
export type ProductInput = z.infer<typeof ProductInput>;

/** Largest id the catalog looks up; anything longer cannot be a product (ids are UUIDs, events allow 64). */
export const MAX_PRODUCT_ID_LENGTH = 64;

/** A boolean query flag: only the literal strings `true` and `false` (absent = false). */
const flag = z
  .enum(['true', 'false'], 'must be true or false')
  .optional()
  .transform((value) => value === 'true');

/** `GET /products/{productId}?consistent=true|false`. */
export const GetProductQuery = z.object({ consistent: flag });
export type GetProductQuery = z.infer<typeof GetProductQuery>;

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * `GET /products?category=&limit=&cursor=`. The cursor is opaque here; the table adapter decodes it
 * (it is the index key to continue after) and checks that it belongs to this listing.
 */
export const ListProductsQuery = z.object({
  category: Category.optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .transform(Number)
    .pipe(z.int().min(1).max(MAX_PAGE_SIZE))
    .optional()
    .transform((value) => value ?? DEFAULT_PAGE_SIZE),
  cursor: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned by a previous page')
    .optional(),
});
export type ListProductsQuery = z.infer<typeof ListProductsQuery>;

/** One page of a listing; `nextCursor` is null on the last page. */
export interface ProductPage {
  items: Product[];
  nextCursor: string | null;
}

/** The `ProductUpserted` event announcing a product as it now is. */
export function productUpserted(product: Product): NewEvent<'ProductUpserted'> {
  const { productId, name, category, priceCents, currency, version } = product;
  return { name: 'ProductUpserted', detail: { productId, name, category, priceCents, currency, version } };
}

/**
 * The id of the product a caller creates under an Idempotency-Key: a UUID (version 8, name-based)
 * from the caller and the key, so every retry of that request names the same product, and the
 * conditional write that creates it can happen only once.
 *
 * @example
 * productIdFor('admin-1', 'create-cup-1'); // the same UUID every time
 */
export function productIdFor(userId: string, idempotencyKey: string): string {
  const bytes = createHash('sha256').update(`shop.catalog.product\n${userId}\n${idempotencyKey}`).digest();
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Fingerprint of a create request: the same key with another body is refused. */
export function productRequestHash(input: ProductInput): string {
  const { name, description, category, priceCents, currency } = input;
  return createHash('sha256')
    .update(JSON.stringify([name, description ?? null, category, priceCents, currency]))
    .digest('hex');
}

/** No product has this id (404). */
export const productNotFound = (productId: string) =>
  new Refusal('not-found', 'NOT_FOUND', `Product ${productId} does not exist`);

/** The Idempotency-Key of a create was used before with another body (422). */
export const keyReused = () =>
  new Refusal(
    'unprocessable',
    'IDEMPOTENCY_KEY_REUSED',
    'This Idempotency-Key was used with a different request body',
  );

/** The first request with this Idempotency-Key is still running (409): the caller retries shortly. */
export const requestInProgress = () =>
  new Refusal(
    'conflict',
    'REQUEST_IN_PROGRESS',
    'A request with this Idempotency-Key is still running; retry shortly',
  );
