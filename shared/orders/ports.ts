import type { Cart } from '../cart/domain.ts';
import type { Order, OrderLine, Region } from './domain.ts';

/**
 * What the orders use cases need from the stores, as interfaces: the adapters
 * (`shared/orders/adapters/orders-db.ts`, `shared/cart/adapters/cart-table.ts`,
 * `shared/catalog/adapters/catalog-table.ts`) implement them; unit tests pass in-memory ones.
 */

/** The caller's cart as checkout reads it. */
export interface CartReader {
  getCart(userId: string): Promise<Cart>;
}

/** Current catalog prices, read strongly consistent (an order charges today's price). */
export interface PriceReader {
  getProductsConsistent(productIds: string[]): Promise<Map<string, { priceCents: number }>>;
}

/** What `OrderStore.placeOrder` commits in one transaction (see `orders-db.ts`). */
export interface PlaceOrder {
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  region: Region;
  lines: OrderLine[];
  /**
   * When the cart was read. The order is dated then, so the cart service removes exactly the lines
   * it saw (a line changed after this survives).
   */
  cartReadAt: Date;
  /** The cart state priced (see `cartState`): consumed by this order, so it is ordered only once. */
  cart: { version: number; digest: string };
}

/** Orders, their idempotency records and the stock they take (Postgres). */
export interface OrderStore {
  findOrderRequest(
    userId: string,
    idempotencyKey: string,
  ): Promise<{ requestHash: string; orderId: string } | undefined>;
  getOrder(userId: string, orderId: string): Promise<Order | undefined>;
  placeOrder(input: PlaceOrder): Promise<{ order: Order; replayed: boolean }>;
}

export type CheckoutPorts = CartReader & PriceReader & OrderStore;
