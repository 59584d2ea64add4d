import { productNotFound } from '../../catalog/domain.ts';
import type { Cart } from '../domain.ts';
import type { CartPorts, CartStore } from '../ports.ts';

/**
 * The cart's use cases, for the caller's own cart. Writes take the version the caller last saw
 * (`expectedVersion`, from `If-Match`): a cart at another version refuses them with
 * `CartVersionMismatch` (412) and stays as it is. Each write answers with the cart as it now is.
 */

/** What a write names: whose cart, and the version the caller expects it at (if any). */
export interface CartWrite {
  userId: string;
  expectedVersion?: number;
}

/** The caller's cart (an unknown user has the empty cart at version 0). */
export const viewCart = (ports: Pick<CartStore, 'getCart'>, userId: string): Promise<Cart> =>
  ports.getCart(userId);

/**
 * Puts `quantity` of a product in the cart (or changes its quantity), at the catalog's current
 * price, read strongly consistent; a product the catalog does not have is refused (404).
 *
 * @example
 * const cart = await setLine(ports, { userId, productId: 'p-1', quantity: 2, expectedVersion: 3 });
 */
export async function setLine(
  ports: CartPorts,
  { userId, productId, quantity, expectedVersion }: CartWrite & { productId: string; quantity: number },
): Promise<Cart> {
  const product = await ports.getProduct(productId, { consistent: true });
  if (!product) throw productNotFound(productId);
  await ports.setCartLine(
    userId,
    { productId, quantity, priceCents: product.priceCents },
    { expectedVersion },
  );
  return ports.getCart(userId);
}

/** Takes a product out of the cart; one that is not there changes nothing (the version is still checked). */
export async function removeLine(
  ports: CartStore,
  { userId, productId, expectedVersion }: CartWrite & { productId: string },
): Promise<Cart> {
  await ports.removeCartLine(userId, productId, { expectedVersion });
  return ports.getCart(userId);
}

/** Empties the cart. The version goes on growing: a client holding an old one cannot match the empty cart. */
export async function emptyCart(ports: CartStore, { userId, expectedVersion }: CartWrite): Promise<void> {
  await ports.clearCart(userId, { expectedVersion });
}
