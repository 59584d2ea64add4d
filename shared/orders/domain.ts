import { createHash } from 'node:crypto';
import { z } from 'zod';
import { REGIONS } from '../../events/schemas.ts';

export { REGIONS };
export type Region = (typeof REGIONS)[number];

export interface OrderLine {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Order {
  orderId: string;
  status: 'PLACED' | 'CANCELLED';
  items: OrderLine[];
  totalCents: number;
  region: Region;
  createdAt: string;
  updatedAt: string;
}

/** `POST /orders` body. */
export const PlaceOrderInput = z.object({ region: z.enum(REGIONS).default('eu') });
export type PlaceOrderInput = z.infer<typeof PlaceOrderInput>;

/** `PUT /inventory/{productId}` body. */
export const SetStockInput = z.object({ stock: z.int().min(0).max(1_000_000_000) });

/** Fingerprint of what a request asked for: the same key with another body is refused. */
export function requestHash(input: PlaceOrderInput): string {
  return createHash('sha256')
    .update(JSON.stringify({ region: input.region }))
    .digest('hex');
}

/**
 * The state of a cart that checkout priced: its version and a digest of its lines (product,
 * quantity, price, when each was set). At most one order is placed per state: the version alone
 * would repeat when an expired cart starts again at version 1, the line timestamps would not.
 *
 * @example
 * cartState({ version: 3, items: [{ productId: 'p', quantity: 1, priceCents: 100, updatedAt: '…' }] });
 */
export function cartState(cart: {
  version: number;
  items: { productId: string; quantity: number; priceCents: number; updatedAt: string }[];
}): { version: number; digest: string } {
  const lines = [...cart.items]
    .map((l) => [l.productId, l.quantity, l.priceCents, l.updatedAt])
    .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
  return { version: cart.version, digest: createHash('sha256').update(JSON.stringify(lines)).digest('hex') };
}

export const orderTotal = (lines: OrderLine[]) =>
  lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);

/** Why an order or stock change was refused; handlers turn these into HTTP answers. */
export class OrderError extends Error {
  override name = 'OrderError';
  readonly code:
    | 'CART_EMPTY'
    | 'INSUFFICIENT_STOCK'
    | 'PRODUCT_UNAVAILABLE'
    | 'IDEMPOTENCY_KEY_REUSED'
    | 'CART_ALREADY_ORDERED'
    | 'ORDER_NOT_FOUND'
    | 'ALREADY_CANCELLED';
  readonly productId?: string;
  /** CART_ALREADY_ORDERED: the order this cart state became. */
  readonly orderId?: string;

  constructor(code: OrderError['code'], message: string, ids: { productId?: string; orderId?: string } = {}) {
    super(message);
    this.code = code;
    this.productId = ids.productId;
    this.orderId = ids.orderId;
  }
}
