import { describe, expect, it } from 'vitest';
import type { Cart } from '../../shared/cart/domain.ts';
import { type Order, OrderError } from '../../shared/orders/domain.ts';
import type { CheckoutPorts, PlaceOrder } from '../../shared/orders/ports.ts';
import { checkout } from '../../shared/orders/use-cases/checkout.ts';

/** In-memory stores: a cart, a price list and an order store that keeps what it placed. */
function memoryPorts(cart: Cart, prices: Record<string, number>) {
  const orders = new Map<string, Order>();
  const requests = new Map<string, { requestHash: string; orderId: string }>();
  const placed: PlaceOrder[] = [];
  const effects = { relayed: 0, counted: [] as string[], tokens: 0 };
  const ports: CheckoutPorts = {
    relayEvents: async () => {
      effects.relayed++;
    },
    count: (metric) => effects.counted.push(metric),
    commitToken: async () => `0/${(++effects.tokens).toString(16).toUpperCase()}`,
    getCart: async () => cart,
    getProductsConsistent: async (ids) =>
      new Map(ids.filter((id) => id in prices).map((id) => [id, { priceCents: prices[id] as number }])),
    findOrderRequest: async (userId, key) => requests.get(`${userId}/${key}`),
    getOrder: async (_userId, orderId) => orders.get(orderId),
    placeOrder: async (input) => {
      // The key's row is claimed in the transaction: a key another request holds places nothing.
      if (requests.has(`${input.userId}/${input.idempotencyKey}`)) return undefined;
      placed.push(input);
      const order: Order = {
        orderId: crypto.randomUUID(),
        status: 'PLACED',
        items: input.lines,
        totalCents: input.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0),
        region: input.region,
        createdAt: input.cartReadAt.toISOString(),
        updatedAt: input.cartReadAt.toISOString(),
      };
      orders.set(order.orderId, order);
      requests.set(`${input.userId}/${input.idempotencyKey}`, {
        requestHash: input.requestHash,
        orderId: order.orderId,
      });
      return order;
    },
  };
  return { ports, placed, effects };
}

const line = (productId: string, quantity: number, priceCents: number) => ({
  productId,
  quantity,
  priceCents,
  updatedAt: '2026-12-01T10:00:00.000Z',
});
const cart: Cart = { items: [line('b', 2, 100), line('a', 1, 250)], totalCents: 450, version: 3 };

describe('checkout (use case, in-memory ports)', () => {
  it('prices the cart at the current catalog price and places one order', async () => {
    const { ports, placed, effects } = memoryPorts(cart, { a: 300, b: 100 });
    const { order, replayed, token } = await checkout(ports, {
      userId: 'u',
      idempotencyKey: 'k',
      input: { region: 'eu' },
    });
    expect(replayed).toBe(false);
    expect(token).toBe('0/1'); // the commit's position, read after the order was placed
    expect(effects).toMatchObject({ relayed: 1, counted: ['OrdersPlaced'] });
    expect(order.totalCents).toBe(2 * 100 + 300); // a's price changed since it was put in the cart
    expect(placed).toHaveLength(1);
    expect(placed[0]?.cart.version).toBe(3);
    expect(placed[0]?.cart.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers a retry with the same key from the store, without placing again', async () => {
    const { ports, placed, effects } = memoryPorts(cart, { a: 250, b: 100 });
    const first = await checkout(ports, { userId: 'u', idempotencyKey: 'k', input: { region: 'eu' } });
    const again = await checkout(ports, { userId: 'u', idempotencyKey: 'k', input: { region: 'eu' } });
    expect(again).toEqual({ order: first.order, replayed: true, token: '0/2' });
    expect(placed).toHaveLength(1);
    // A replay neither counts nor relays again: the first request did both.
    expect(effects).toMatchObject({ relayed: 1, counted: ['OrdersPlaced'] });
  });

  it('answers a request that raced another with the same key (the store found the key taken) as a replay', async () => {
    const { ports, placed, effects } = memoryPorts(cart, { a: 250, b: 100 });
    const first = await checkout(ports, { userId: 'u', idempotencyKey: 'k', input: { region: 'eu' } });
    // The racer looked for the key before the first request committed, so it priced the cart too.
    let looked = 0;
    const racer = {
      ...ports,
      findOrderRequest: async (u: string, k: string) => (looked++ ? ports.findOrderRequest(u, k) : undefined),
    };
    const raced = await checkout(racer, { userId: 'u', idempotencyKey: 'k', input: { region: 'eu' } });
    expect(raced).toMatchObject({ order: first.order, replayed: true });
    expect(placed).toHaveLength(1);
    expect(effects).toMatchObject({ relayed: 1, counted: ['OrdersPlaced'] });
    looked = 0;
    await expect(
      checkout(racer, { userId: 'u', idempotencyKey: 'k', input: { region: 'us' } }),
    ).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', kind: 'unprocessable' });
  });

  it('refuses the same key with another body: IDEMPOTENCY_KEY_REUSED', async () => {
    const { ports } = memoryPorts(cart, { a: 250, b: 100 });
    await checkout(ports, { userId: 'u', idempotencyKey: 'k', input: { region: 'eu' } });
    await expect(
      checkout(ports, { userId: 'u', idempotencyKey: 'k', input: { region: 'us' } }),
    ).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('refuses an empty cart and a product gone from the catalog, naming it', async () => {
    const empty = memoryPorts({ items: [], totalCents: 0, version: 0 }, {});
    await expect(
      checkout(empty.ports, { userId: 'u', idempotencyKey: 'k', input: { region: 'eu' } }),
    ).rejects.toMatchObject({ code: 'CART_EMPTY' });
    const gone = memoryPorts(cart, { b: 100 });
    const error = await checkout(gone.ports, {
      userId: 'u',
      idempotencyKey: 'k',
      input: { region: 'eu' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrderError);
    expect(error).toMatchObject({ code: 'PRODUCT_UNAVAILABLE', productId: 'a' });
    expect(gone.placed).toHaveLength(0);
    expect(gone.effects).toMatchObject({ relayed: 0, counted: [] });
  });

  it('reads the cart while the store looks for the key, and answers a replay even when that read fails', async () => {
    const { ports } = memoryPorts(cart, { a: 250, b: 100 });
    const first = await checkout(ports, { userId: 'u', idempotencyKey: 'k', input: { region: 'eu' } });
    const steps: string[] = [];
    let cartDown = true;
    const watched: typeof ports = {
      ...ports,
      findOrderRequest: async (u, k) => {
        steps.push('find started');
        await new Promise((resolve) => setTimeout(resolve, 5));
        steps.push('find done');
        return ports.findOrderRequest(u, k);
      },
      getCart: async (u) => {
        steps.push('cart read started');
        if (cartDown) throw new Error('carts table unavailable');
        return ports.getCart(u);
      },
    };
    const replay = await checkout(watched, { userId: 'u', idempotencyKey: 'k', input: { region: 'eu' } });
    expect(replay).toMatchObject({ order: first.order, replayed: true });
    expect(steps).toEqual(['cart read started', 'find started', 'find done']);
    // A new key needs the cart: its failure is the answer.
    await expect(
      checkout(watched, { userId: 'u', idempotencyKey: 'k2', input: { region: 'eu' } }),
    ).rejects.toThrow('carts table unavailable');
    cartDown = false;
    const placed = await checkout(watched, { userId: 'u', idempotencyKey: 'k3', input: { region: 'eu' } });
    expect(placed.replayed).toBe(false);
  });
});
