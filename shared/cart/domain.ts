import { z } from 'zod';
import { Refusal } from '../refusal.ts';

/** One line of a cart: the price is the catalog price when the line was last set. */
export interface CartLine {
  productId: string;
  quantity: number;
  priceCents: number;
  /** When the line was last set (ISO 8601); an order placed later removes it, a newer change survives. */
  updatedAt: string;
}

export interface Cart {
  items: CartLine[];
  totalCents: number;
  /** Grows with every change; `If-Match: <version>` makes a write conditional on it. 0 = never written. */
  version: number;
}

/** A cart as the API shows it: lines without their internal `updatedAt`. */
export interface CartView {
  items: Pick<CartLine, 'productId' | 'quantity' | 'priceCents'>[];
  totalCents: number;
  version: number;
}

export const MAX_QUANTITY = 99;

/** Cart items live this long after their last change (DynamoDB TTL on `expiresAt`, epoch seconds). */
export const CART_TTL_SECONDS = 30 * 24 * 60 * 60;

/** Product ids are at most 64 characters, as in the events (`events/schemas.ts`). */
export const CartProductId = z
  .string()
  .min(1, 'must be 1 to 64 characters')
  .max(64, 'must be 1 to 64 characters');

/** The body of `PUT /cart/items/{productId}`. */
export const CartLineInput = z.object({
  quantity: z.int().min(1).max(MAX_QUANTITY),
});
export type CartLineInput = z.infer<typeof CartLineInput>;

/** The total of a cart's lines in cents. */
export function cartTotal(items: Pick<CartLine, 'quantity' | 'priceCents'>[]): number {
  return items.reduce((sum, line) => sum + line.quantity * line.priceCents, 0);
}

/** Assembles a cart from its lines (sorted by product id, so responses are stable) and its version. */
export function buildCart(lines: CartLine[], version: number): Cart {
  const items = [...lines].sort((a, b) =>
    a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0,
  );
  return { items, totalCents: cartTotal(items), version };
}

/** What the API answers: the cart without the lines' `updatedAt`. */
export function toCartView(cart: Cart): CartView {
  return {
    items: cart.items.map(({ productId, quantity, priceCents }) => ({ productId, quantity, priceCents })),
    totalCents: cart.totalCents,
    version: cart.version,
  };
}

/** The TTL of an item written at `now`: epoch seconds, {@link CART_TTL_SECONDS} later. */
export function cartExpiresAt(now: Date): number {
  return Math.floor(now.getTime() / 1000) + CART_TTL_SECONDS;
}

/** Whether an item's TTL has passed (DynamoDB deletes expired items only eventually, so reads skip them). */
export function isExpired(expiresAt: unknown, now: Date): boolean {
  return typeof expiresAt === 'number' && expiresAt <= Math.floor(now.getTime() / 1000);
}

/**
 * Reads a cart version from an `If-Match` header: a non-negative integer, bare (`3`) or quoted as the
 * `ETag` the API sends (`"3"`). Returns `undefined` when the header is absent and `null` when it is not
 * a version (weak tags, `*`, lists, negatives, fractions, …).
 */
export function parseVersionHeader(value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  const match = /^\s*(?:"(\d{1,15})"|(\d{1,15}))\s*$/.exec(value);
  const digits = match?.[1] ?? match?.[2];
  return digits === undefined ? null : Number(digits);
}

/** `If-Match` on a cart write, as {@link parseVersionHeader} reads it: the version expected, or undefined. */
export const IfMatchVersion = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const version = parseVersionHeader(value);
    if (version !== null) return version;
    ctx.addIssue({ code: 'custom', message: 'must be a non-negative integer cart version, e.g. 3 or "3"' });
    return z.NEVER;
  });

/** The `ETag` of a cart version, as `If-Match` accepts it back. */
export const versionEtag = (version: number) => `"${version}"`;

/**
 * A timestamp in the form cart lines store (`Date#toISOString`: UTC, milliseconds), so that ISO strings
 * compare correctly as text (`…T10:00:00Z` and `…T10:00:00.500Z` would not).
 */
export function canonicalTimestamp(iso: string): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) throw new RangeError(`Not a timestamp: ${iso}`);
  return time.toISOString();
}

/**
 * The lines a placed order takes out of the cart: those of its products that were last set no later
 * than the order was created. A line changed after the order (added again, quantity changed) stays.
 */
export function linesTakenByOrder(
  lines: Pick<CartLine, 'productId' | 'updatedAt'>[],
  order: { items: { productId: string }[]; createdAt: string },
): string[] {
  const ordered = new Set(order.items.map((item) => item.productId));
  const createdAt = canonicalTimestamp(order.createdAt);
  return lines
    .filter((line) => ordered.has(line.productId) && line.updatedAt <= createdAt)
    .map((line) => line.productId);
}

/** A conditional cart write found the cart at another version than the caller expected (412 over HTTP). */
export class CartVersionMismatch extends Refusal {
  override name = 'CartVersionMismatch';
  readonly expected: number;
  readonly current: number;

  constructor(expected: number, current: number) {
    super(
      'precondition-failed',
      'PRECONDITION_FAILED',
      `The cart changed: it is at version ${current}, not ${expected}`,
      [{ path: 'header.If-Match', message: `the current version is ${current}` }],
    );
    this.expected = expected;
    this.current = current;
  }
}
