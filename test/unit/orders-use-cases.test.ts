import { describe, expect, it } from 'vitest';
import type { Product } from '../../shared/catalog/domain.ts';
import { type Order, OrderError } from '../../shared/orders/domain.ts';
import type { OrderKey, OrderPorts, OrderReader } from '../../shared/orders/ports.ts';
import { cancelMyOrder, setInventory } from '../../shared/orders/use-cases/change-orders.ts';
import { getMyOrder, listMyOrders } from '../../shared/orders/use-cases/read-orders.ts';
import { Refusal } from '../../shared/refusal.ts';

const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const order = (n: number, userId = 'alice'): Order & { userId: string } => ({
  userId,
  orderId: ID(n),
  status: 'PLACED',
  items: [{ productId: 'p', quantity: 1, unitPriceCents: 100 }],
  totalCents: 100,
  region: 'eu',
  createdAt: `2026-12-01T10:00:0${n}.000000+00:00`,
  updatedAt: `2026-12-01T10:00:0${n}.000000+00:00`,
});

/** A reader over a list of orders (newest first by creation time, then id), as the Postgres one reads. */
function readerOf(orders: (Order & { userId: string })[]): OrderReader {
  const mine = (userId: string) =>
    orders
      .filter((o) => o.userId === userId)
      .sort((a, b) =>
        a.createdAt === b.createdAt
          ? b.orderId.localeCompare(a.orderId)
          : b.createdAt.localeCompare(a.createdAt),
      );
  const strip = ({ userId: _, ...o }: Order & { userId: string }): Order => o;
  return {
    getOrder: async (userId, orderId) => {
      const found = mine(userId).find((o) => o.orderId === orderId);
      return found && strip(found);
    },
    listOrders: async (userId, { limit, after }) => {
      const rest = mine(userId).filter(
        (o) =>
          !after ||
          o.createdAt < after.createdAt ||
          (o.createdAt === after.createdAt && o.orderId < after.orderId),
      );
      const page = rest.slice(0, limit);
      const last = rest.length > limit ? page[page.length - 1] : undefined;
      return { orders: page.map(strip), last: last && { createdAt: last.createdAt, orderId: last.orderId } };
    },
  };
}

/**
 * In-memory orders ports: a primary with every order and a replica that has replayed only some,
 * with a token that says how far a reader must be (here: the number of orders it must show).
 */
function memoryPorts(options: {
  primary: (Order & { userId: string })[];
  replica: number;
  products?: string[];
}) {
  const log: string[] = [];
  const stock = new Map<string, number>();
  const primary = readerOf(options.primary);
  const replica = readerOf(options.primary.slice(0, options.replica));
  const ports = {
    readerFor: async (token: string | undefined) => {
      log.push(`readerFor ${token}`);
      const needed = token === undefined ? 0 : Number(token.split('/')[1]);
      return needed <= options.replica
        ? { source: 'replica' as const, reader: replica }
        : { source: 'primary' as const, reader: primary };
    },
    getOrder: async (userId: string, orderId: string) => {
      log.push(`primary getOrder ${orderId}`);
      return primary.getOrder(userId, orderId);
    },
    commitToken: async () => `0/${options.primary.length}`,
    cancelOrder: async (userId: string, orderId: string) => {
      const found = options.primary.find((o) => o.orderId === orderId && o.userId === userId);
      if (!found) throw new OrderError('NOT_FOUND', `Order ${orderId} does not exist`);
      if (found.status === 'CANCELLED') throw new OrderError('ALREADY_CANCELLED', 'already cancelled');
      found.status = 'CANCELLED';
      log.push(`cancel ${orderId}`);
      const { userId: _, ...rest } = found;
      return rest;
    },
    setStock: async (productId: string, value: number) => {
      stock.set(productId, value);
      log.push(`setStock ${productId} ${value}`);
      return { productId, stock: value, version: 7 };
    },
    getProduct: async (productId: string, { consistent }: { consistent: boolean }) => {
      log.push(`getProduct ${productId} consistent=${consistent}`);
      return options.products?.includes(productId) ? ({ productId } as Product) : undefined;
    },
    relayEvents: async () => {
      log.push('relay');
    },
    count: (metric: string) => log.push(`count ${metric}`),
  } satisfies Partial<OrderPorts>;
  return { ports, log, stock };
}

describe('getMyOrder (read-your-writes over a replica)', () => {
  const orders = [order(1), order(2), order(3, 'bob')];

  it('answers from the replica when it shows the order', async () => {
    const { ports, log } = memoryPorts({ primary: orders, replica: 2 });
    const read = await getMyOrder(ports, { userId: 'alice', orderId: ID(1) });
    expect(read).toMatchObject({ source: 'replica', order: { orderId: ID(1) } });
    expect(log).toEqual(['readerFor undefined']);
  });

  it('looks on the primary when the replica does not show it yet, and says so', async () => {
    const { ports, log } = memoryPorts({ primary: orders, replica: 1 });
    const read = await getMyOrder(ports, { userId: 'alice', orderId: ID(2) });
    expect(read).toMatchObject({ source: 'primary', order: { orderId: ID(2) } });
    expect(log).toEqual(['readerFor undefined', `primary getOrder ${ID(2)}`]);
  });

  it('passes the caller’s token on: a replica behind it is not asked', async () => {
    const { ports } = memoryPorts({ primary: orders, replica: 1 });
    const read = await getMyOrder(ports, { userId: 'alice', orderId: ID(2), token: '0/2' });
    expect(read.source).toBe('primary');
  });

  it('is NOT_FOUND (404) for another user’s order and for an id that is no UUID, reading nothing for the latter', async () => {
    const { ports, log } = memoryPorts({ primary: orders, replica: 3 });
    const other = await getMyOrder(ports, { userId: 'alice', orderId: ID(3) }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(Refusal);
    expect(other).toMatchObject({
      kind: 'not-found',
      code: 'NOT_FOUND',
      message: `Order ${ID(3)} does not exist`,
    });
    log.length = 0;
    await expect(getMyOrder(ports, { userId: 'alice', orderId: 'x' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(log).toEqual([]);
  });
});

describe('listMyOrders', () => {
  it('pages the caller’s orders newest first, continuing after the last key', async () => {
    const orders = [order(1), order(2), order(3), order(4, 'bob')];
    const { ports } = memoryPorts({ primary: orders, replica: 4 });
    const first = await listMyOrders(ports, { userId: 'alice', limit: 2 });
    expect(first.orders.map((o) => o.orderId)).toEqual([ID(3), ID(2)]);
    expect(first.source).toBe('replica');
    const second = await listMyOrders(ports, { userId: 'alice', limit: 2, after: first.last as OrderKey });
    expect(second.orders.map((o) => o.orderId)).toEqual([ID(1)]);
    expect(second.last).toBeUndefined();
  });
});

describe('cancelMyOrder', () => {
  it('cancels, counts, relays the events and answers with the commit’s token', async () => {
    const { ports, log } = memoryPorts({ primary: [order(1)], replica: 1 });
    const { order: cancelled, token } = await cancelMyOrder(ports, { userId: 'alice', orderId: ID(1) });
    expect(cancelled.status).toBe('CANCELLED');
    expect(token).toBe('0/1');
    expect(log).toEqual([`cancel ${ID(1)}`, 'count OrdersCancelled', 'relay']);
  });

  it('passes the store’s refusal on (twice → ALREADY_CANCELLED, 409) and relays nothing', async () => {
    const { ports, log } = memoryPorts({ primary: [order(1)], replica: 1 });
    await cancelMyOrder(ports, { userId: 'alice', orderId: ID(1) });
    log.length = 0;
    await expect(cancelMyOrder(ports, { userId: 'alice', orderId: ID(1) })).rejects.toMatchObject({
      kind: 'conflict',
      code: 'ALREADY_CANCELLED',
    });
    expect(log).toEqual([]);
  });

  it('does not touch the store for an id that is no UUID', async () => {
    const { ports, log } = memoryPorts({ primary: [order(1)], replica: 1 });
    await expect(cancelMyOrder(ports, { userId: 'alice', orderId: '1' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(log).toEqual([]);
  });
});

describe('setInventory', () => {
  it('sets the stock of a catalog product (read strongly) and relays InventoryChanged', async () => {
    const { ports, log, stock } = memoryPorts({ primary: [], replica: 0, products: ['p-1'] });
    expect(await setInventory(ports, { productId: 'p-1', stock: 5 })).toEqual({ productId: 'p-1', stock: 5 });
    expect(stock.get('p-1')).toBe(5);
    expect(log).toEqual(['getProduct p-1 consistent=true', 'setStock p-1 5', 'relay']);
  });

  it('refuses a product the catalog does not have (404) without setting anything', async () => {
    const { ports, stock } = memoryPorts({ primary: [], replica: 0, products: [] });
    await expect(setInventory(ports, { productId: 'nope', stock: 5 })).rejects.toMatchObject({
      kind: 'not-found',
      message: 'Product nope does not exist',
    });
    expect(stock.size).toBe(0);
  });
});
