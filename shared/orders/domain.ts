import { createHash } from 'node:crypto';
import { z } from 'zod';
import { REGIONS } from '../../events/schemas.ts';
import { Refusal, type RefusalKind } from '../refusal.ts';

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

/** The kind of each order refusal (its HTTP status: 404, 409, 422). */
const ORDER_REFUSALS = {
  CART_EMPTY: 'conflict',
  INSUFFICIENT_STOCK: 'conflict',
  PRODUCT_UNAVAILABLE: 'conflict',
  IDEMPOTENCY_KEY_REUSED: 'unprocessable',
  CART_ALREADY_ORDERED: 'conflict',
  NOT_FOUND: 'not-found',
  ALREADY_CANCELLED: 'conflict',
} as const satisfies Record<string, RefusalKind>;

/**
 * Why an order or stock change was refused. A refusal about one product names it
 * (`items.productId`); CART_ALREADY_ORDERED names the order the cart became (`orderId`).
 */
export class OrderError extends Refusal {
  override name = 'OrderError';
  declare readonly code: keyof typeof ORDER_REFUSALS;
  readonly productId?: string;
  /** CART_ALREADY_ORDERED: the order this cart state became. */
  readonly orderId?: string;

  constructor(code: OrderError['code'], message: string, ids: { productId?: string; orderId?: string } = {}) {
    const details = ids.productId
      ? [{ path: 'items.productId', message: ids.productId }]
      : ids.orderId
        ? [{ path: 'orderId', message: ids.orderId }]
        : undefined;
    super(ORDER_REFUSALS[code], code, message, details);
    this.productId = ids.productId;
    this.orderId = ids.orderId;
  }
}

/** The refusal for an order the caller does not have (another user's order looks the same). */
export const orderNotFound = (orderId: string) =>
  new OrderError('NOT_FOUND', `Order ${orderId} does not exist`);
