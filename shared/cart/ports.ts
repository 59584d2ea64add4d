import type { Product } from '../catalog/domain.ts';
import type { Cart, CartLine } from './domain.ts';

/**
 * What the cart's use cases need from the stores, as interfaces: the adapters
 * (`shared/cart/adapters/cart-table.ts`, `shared/catalog/adapters/catalog-table.ts`, wired in
 * `shared/cart/adapters/wiring.ts`) implement them; unit tests pass in-memory ones.
 */

/** What a write may say about the cart's version: nothing, or the version the client last saw. */
export interface WriteOptions {
  /** From `If-Match`: the write happens only if the cart is still at this version. */
  expectedVersion?: number;
  now?: Date;
}

/**
 * The carts, one per user, read strongly consistent (read-your-writes). Every write that changes
 * the lines bumps the version; with `expectedVersion` a write at another version throws
 * `CartVersionMismatch` and changes nothing.
 */
export interface CartStore {
  getCart(userId: string): Promise<Cart>;
  setCartLine(
    userId: string,
    line: Pick<CartLine, 'productId' | 'quantity' | 'priceCents'>,
    options?: WriteOptions,
  ): Promise<void>;
  removeCartLine(userId: string, productId: string, options?: WriteOptions): Promise<void>;
  clearCart(userId: string, options?: WriteOptions): Promise<void>;
}

/** The catalog, asked for a product's current price (strongly consistent: a line gets today's price). */
export interface ProductLookup {
  getProduct(productId: string, options: { consistent: boolean }): Promise<Product | undefined>;
}

export type CartPorts = CartStore & ProductLookup;
