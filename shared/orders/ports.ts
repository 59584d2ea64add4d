import type { Cart } from '../cart/domain.ts';
import type { ProductLookup } from '../catalog/ports.ts';
import type { ConsistencyToken, ReadSource } from '../platform/read-your-writes.ts';
import type { Order, OrderLine, Region } from './domain.ts';

/**
 * What the orders use cases need from the stores, as interfaces: the adapters
 * (`shared/orders/adapters/orders-db.ts`, `shared/cart/adapters/cart-table.ts`,
 * `shared/catalog/adapters/catalog-table.ts`, wired in `shared/orders/adapters/wiring.ts`)
 * implement them; unit tests pass in-memory ones.
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
  /**
   * Places the order in one transaction (claiming the key, consuming the cart state, taking the
   * stock); undefined when another request holds the key, which the caller answers as a replay.
   */
  placeOrder(input: PlaceOrder): Promise<Order | undefined>;
}

/** The changes orders make to orders and stock, each in one transaction with its outbox events. */
export interface OrderChanges {
  /** Cancels a placed order and gives its stock back (`NOT_FOUND`, `ALREADY_CANCELLED`). */
  cancelOrder(userId: string, orderId: string): Promise<Order>;
  /** Sets a product's authoritative stock (creating its inventory row). */
  setStock(productId: string, stock: number): Promise<{ productId: string; stock: number; version: number }>;
}

/** Where a page of orders stops: the last order's creation time (to the microsecond) and id. */
export interface OrderKey {
  createdAt: string;
  orderId: string;
}

/** Reads of orders on one database, the replica or the primary. */
export interface OrderReader {
  getOrder(userId: string, orderId: string): Promise<Order | undefined>;
  /** A page of the user's orders, newest first, after `after`; `last` is set when more follow. */
  listOrders(
    userId: string,
    options: { limit: number; after?: OrderKey },
  ): Promise<{ orders: Order[]; last?: OrderKey }>;
}

/**
 * Read-your-writes over the read replica (`shared/platform/read-your-writes.ts`): a write's
 * `commitToken`, and the reader for a caller who sends one back.
 */
export interface OrderReads {
  /** The replica when it has replayed `token` (or no token is given), else the primary. */
  readerFor(token: ConsistencyToken | undefined): Promise<{ source: ReadSource; reader: OrderReader }>;
  /** The position a reader must reach to show everything committed so far. */
  commitToken(): Promise<ConsistencyToken>;
}

/** The orders outbox's events on the bus. */
export interface OrderEvents {
  /** Sends the outbox's events now. Never throws: what it could not send waits for the scheduled relay. */
  relayEvents(): Promise<void>;
}

/** Business metrics (CloudWatch EMF): one count per order placed or cancelled. */
export interface OrderMetrics {
  count(metric: 'OrdersPlaced' | 'OrdersCancelled'): void;
}

export type CheckoutPorts = CartReader &
  PriceReader &
  OrderStore &
  OrderEvents &
  OrderMetrics &
  Pick<OrderReads, 'commitToken'>;

/** Everything the orders function's use cases need. */
export type OrderPorts = CheckoutPorts & OrderChanges & OrderReads & ProductLookup;
