import type { ConsistencyToken } from '../../platform/read-your-writes.ts';
import { cartState, type Order, OrderError, type PlaceOrderInput, requestHash } from '../domain.ts';
import type { CheckoutPorts, OrderStore } from '../ports.ts';

export interface CheckoutRequest {
  userId: string;
  idempotencyKey: string;
  input: PlaceOrderInput;
}

/**
 * Checkout: the caller's cart becomes an order, once per Idempotency-Key.
 *
 * 1. A replay is answered from the order store, whatever the cart holds now (the first order emptied
 *    it): the same key with the same body is the first order (`replayed`), another body is
 *    `IDEMPOTENCY_KEY_REUSED`. (The cart is read meanwhile, for the usual case of a new key.)
 * 2. The cart is priced with strongly consistent catalog reads (`CART_EMPTY`,
 *    `PRODUCT_UNAVAILABLE` naming the product).
 * 3. The store places the order, taking stock, in one transaction, unless a concurrent request
 *    claimed the key first (that request's order is then the answer, by the same replay rule) or
 *    the cart state was ordered already (`CART_ALREADY_ORDERED`). A new order is counted
 *    (`OrdersPlaced`) and its events (OrderPlaced, InventoryChanged) are relayed at once.
 *
 * The answer carries the `token` of the commit, for reading the order back (read-your-writes).
 * Refusals are {@link OrderError}s (the HTTP middleware answers them with their status).
 *
 * @example
 * const { order, replayed, token } = await checkout(ports, { userId, idempotencyKey: key, input: { region: 'eu' } });
 */
export async function checkout(
  ports: CheckoutPorts,
  request: CheckoutRequest,
): Promise<{ order: Order; replayed: boolean; token: ConsistencyToken }> {
  const { order, replayed } = await placeOnce(ports, request);
  if (!replayed) {
    ports.count('OrdersPlaced');
    await ports.relayEvents();
  }
  return { order, replayed, token: await ports.commitToken() };
}

async function placeOnce(
  ports: CheckoutPorts,
  { userId, idempotencyKey, input }: CheckoutRequest,
): Promise<{ order: Order; replayed: boolean }> {
  const hash = requestHash(input);
  // The cart is read while the store looks for the key (a new key is the usual case): one wait
  // instead of two. A replay does not use it, and answers even if that read fails.
  const cartReadAt = new Date();
  const reading = ports.getCart(userId);
  reading.catch(() => {});
  const earlier = await replayOf(ports, userId, idempotencyKey, hash);
  if (earlier) return { order: earlier, replayed: true };

  const cart = await reading;
  if (!cart.items.length) throw new OrderError('CART_EMPTY', 'The cart is empty');
  const products = await ports.getProductsConsistent(cart.items.map((i) => i.productId));
  const lines = cart.items.map((item) => {
    const product = products.get(item.productId);
    if (!product) {
      throw new OrderError('PRODUCT_UNAVAILABLE', `Product ${item.productId} is no longer in the catalog`, {
        productId: item.productId,
      });
    }
    return { productId: item.productId, quantity: item.quantity, unitPriceCents: product.priceCents };
  });
  const order = await ports.placeOrder({
    userId,
    idempotencyKey,
    requestHash: hash,
    region: input.region,
    lines,
    cartReadAt,
    cart: cartState(cart),
  });
  if (order) return { order, replayed: false };
  // A request racing this one with the same key claimed it first: its order is the answer.
  const raced = await replayOf(ports, userId, idempotencyKey, hash);
  if (!raced) throw new Error(`The order of Idempotency-Key ${idempotencyKey} is missing after a conflict`);
  return { order: raced, replayed: true };
}

/**
 * The replay rule: the order an earlier request under this key placed, if any; the same key with
 * another body is refused (`IDEMPOTENCY_KEY_REUSED`).
 */
async function replayOf(
  ports: Pick<OrderStore, 'findOrderRequest' | 'getOrder'>,
  userId: string,
  idempotencyKey: string,
  hash: string,
): Promise<Order | undefined> {
  const previous = await ports.findOrderRequest(userId, idempotencyKey);
  if (!previous) return undefined;
  if (previous.requestHash !== hash) {
    throw new OrderError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used with a different request body',
    );
  }
  return ports.getOrder(userId, previous.orderId);
}
