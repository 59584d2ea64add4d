import { describe, expect, it } from 'vitest';
import { buildCart, type CartLine, CartVersionMismatch } from '../../shared/cart/domain.ts';
import type { CartPorts, WriteOptions } from '../../shared/cart/ports.ts';
import { emptyCart, removeLine, setLine, viewCart } from '../../shared/cart/use-cases/edit-cart.ts';
import type { Product } from '../../shared/catalog/domain.ts';
import { Refusal } from '../../shared/refusal.ts';

/**
 * An in-memory cart store with the table's version rule (a write that changes the lines bumps the
 * version; a write expecting another version throws CartVersionMismatch and changes nothing) and a
 * catalog of prices.
 */
function memoryPorts(prices: Record<string, number>) {
  const carts = new Map<string, { lines: Map<string, CartLine>; version: number }>();
  const cartOf = (userId: string) => {
    const cart = carts.get(userId) ?? { lines: new Map<string, CartLine>(), version: 0 };
    carts.set(userId, cart);
    return cart;
  };
  const check = (userId: string, { expectedVersion }: WriteOptions = {}) => {
    const cart = cartOf(userId);
    if (expectedVersion !== undefined && expectedVersion !== cart.version) {
      throw new CartVersionMismatch(expectedVersion, cart.version);
    }
    return cart;
  };
  const reads: string[] = [];
  const ports: CartPorts = {
    getCart: async (userId) => {
      const cart = cartOf(userId);
      return buildCart([...cart.lines.values()], cart.version);
    },
    setCartLine: async (userId, line, options) => {
      const cart = check(userId, options);
      cart.lines.set(line.productId, { ...line, updatedAt: new Date().toISOString() });
      cart.version++;
    },
    removeCartLine: async (userId, productId, options) => {
      const cart = check(userId, options);
      if (cart.lines.delete(productId)) cart.version++;
    },
    clearCart: async (userId, options) => {
      const cart = check(userId, options);
      if (cart.lines.size === 0) return;
      cart.lines.clear();
      cart.version++;
    },
    getProduct: async (productId, { consistent }) => {
      reads.push(`${productId} consistent=${consistent}`);
      const priceCents = prices[productId];
      return priceCents === undefined ? undefined : ({ productId, priceCents } as Product);
    },
  };
  return { ports, reads };
}

describe('cart use cases (in-memory ports)', () => {
  it('puts a line at the catalog’s current price, read strongly, and answers the cart as it now is', async () => {
    const { ports, reads } = memoryPorts({ 'p-1': 250 });
    const cart = await setLine(ports, { userId: 'alice', productId: 'p-1', quantity: 2 });
    expect(reads).toEqual(['p-1 consistent=true']);
    expect(cart).toMatchObject({
      version: 1,
      totalCents: 500,
      items: [{ productId: 'p-1', quantity: 2, priceCents: 250 }],
    });
    expect(await viewCart(ports, 'alice')).toEqual(cart);
    expect((await viewCart(ports, 'bob')).version).toBe(0);
  });

  it('refuses a product the catalog does not have (404 naming it) and writes nothing', async () => {
    const { ports } = memoryPorts({});
    const error = await setLine(ports, { userId: 'alice', productId: 'ghost', quantity: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Refusal);
    expect(error).toMatchObject({ kind: 'not-found', message: 'Product ghost does not exist' });
    expect((await viewCart(ports, 'alice')).version).toBe(0);
  });

  it('passes If-Match on: a write at another version is a 412 naming the current version, and changes nothing', async () => {
    const { ports } = memoryPorts({ 'p-1': 100, 'p-2': 300 });
    await setLine(ports, { userId: 'alice', productId: 'p-1', quantity: 1, expectedVersion: 0 });
    const stale = await setLine(ports, {
      userId: 'alice',
      productId: 'p-2',
      quantity: 1,
      expectedVersion: 0,
    }).catch((e: unknown) => e);
    expect(stale).toMatchObject({
      kind: 'precondition-failed',
      code: 'PRECONDITION_FAILED',
      details: [{ path: 'header.If-Match', message: 'the current version is 1' }],
    });
    await expect(
      removeLine(ports, { userId: 'alice', productId: 'p-1', expectedVersion: 5 }),
    ).rejects.toBeInstanceOf(CartVersionMismatch);
    await expect(emptyCart(ports, { userId: 'alice', expectedVersion: 0 })).rejects.toBeInstanceOf(
      CartVersionMismatch,
    );
    expect(await viewCart(ports, 'alice')).toMatchObject({ version: 1, totalCents: 100 });
  });

  it('removes a line and empties the cart, the version growing on', async () => {
    const { ports } = memoryPorts({ 'p-1': 100, 'p-2': 300 });
    await setLine(ports, { userId: 'alice', productId: 'p-1', quantity: 1 });
    await setLine(ports, { userId: 'alice', productId: 'p-2', quantity: 1 });
    const after = await removeLine(ports, { userId: 'alice', productId: 'p-1', expectedVersion: 2 });
    expect(after).toMatchObject({ version: 3, totalCents: 300, items: [{ productId: 'p-2' }] });
    await emptyCart(ports, { userId: 'alice', expectedVersion: 3 });
    expect(await viewCart(ports, 'alice')).toEqual({ items: [], totalCents: 0, version: 4 });
  });
});
