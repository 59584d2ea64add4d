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
    | 'ORDER_NOT_FOUND'
    | 'ALREADY_CANCELLED';
  readonly productId?: string;

  constructor(code: OrderError['code'], message: string, productId?: string) {
    super(message);
    this.code = code;
    this.productId = productId;
  }
}
