import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, control, createProduct, eventually, tokenFor, uniqueId } from './helpers.ts';

interface Order {
  orderId: string;
  status: string;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  region: string;
  createdAt: string;
}

let db: pg.Client;
let admin: string;

beforeAll(async () => {
  db = new pg.Client({ connectionString: inject('endpoints').databaseUrl });
  await db.connect();
  admin = await tokenFor('inventory-admin', { admin: true });
});
afterAll(async () => {
  await db.end();
});

const stockOf = async (productId: string) =>
  (await db.query<{ stock: number }>('select stock from inventory where product_id = $1', [productId]))
    .rows[0]?.stock;

async function setStock(productId: string, stock: number) {
  const response = await api('/inventory/' + productId, { method: 'PUT', token: admin, body: { stock } });
  expect(response.status, response.text).toBe(200);
}

async function shopper(lines: { productId: string; quantity: number }[]) {
  const token = await tokenFor(uniqueId('shopper'));
  for (const line of lines) {
    const response = await api(`/cart/items/${line.productId}`, {
      method: 'PUT',
      token,
      body: { quantity: line.quantity },
    });
    expect(response.status, response.text).toBe(200);
  }
  return token;
}

const order = (token: string, key: string | undefined, body: unknown = { region: 'eu' }) =>
  api<Order & { error?: string; message?: string; details?: unknown[] }>('/orders', {
    method: 'POST',
    token,
    body,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });

describe('PUT /inventory/{productId}', () => {
  it('sets the stock in Postgres and the catalog sees it through an event', async () => {
    const product = await createProduct();
    const response = await api('/inventory/' + product.productId, {
      method: 'PUT',
      token: admin,
      body: { stock: 7 },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ productId: product.productId, stock: 7 });
    expect(await stockOf(product.productId)).toBe(7);
    await eventually(async () => {
      const seen = await api<{ available: number }>(`/products/${product.productId}?consistent=true`);
      expect(seen.body.available).toBe(7);
    });
  });

  it('refuses non-admins (403), bad stock (400 naming body.stock), unknown products (404) and no token (401)', async () => {
    const product = await createProduct();
    const user = await tokenFor('not-admin');
    expect(
      (await api('/inventory/' + product.productId, { method: 'PUT', token: user, body: { stock: 1 } }))
        .status,
    ).toBe(403);
    for (const stock of [-1, 1.5, 'ten', null]) {
      const bad = await api<{ details: { path: string }[] }>('/inventory/' + product.productId, {
        method: 'PUT',
        token: admin,
        body: { stock },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.details.map((d) => d.path)).toEqual(['body.stock']);
    }
    expect(
      (await api('/inventory/no-such-product', { method: 'PUT', token: admin, body: { stock: 1 } })).status,
    ).toBe(404);
    expect((await api('/inventory/' + product.productId, { method: 'PUT', body: { stock: 1 } })).status).toBe(
      401,
    );
  });
});

describe('POST /orders', () => {
  it('places an order priced from the catalog, takes the stock and empties the cart', async () => {
    const a = await createProduct({ priceCents: 1250 });
    const b = await createProduct({ priceCents: 300 });
    await setStock(a.productId, 5);
    await setStock(b.productId, 5);
    const token = await shopper([
      { productId: a.productId, quantity: 2 },
      { productId: b.productId, quantity: 1 },
    ]);
    const placed = await order(token, uniqueId('key'), { region: 'us' });
    expect(placed.status, placed.text).toBe(201);
    expect(placed.body).toMatchObject({ status: 'PLACED', region: 'us', totalCents: 2 * 1250 + 300 });
    expect(placed.body.orderId).toMatch(/^[0-9a-f-]{36}$/);
    expect(placed.body.items).toEqual(
      expect.arrayContaining([
        { productId: a.productId, quantity: 2, unitPriceCents: 1250 },
        { productId: b.productId, quantity: 1, unitPriceCents: 300 },
      ]),
    );
    expect(await stockOf(a.productId)).toBe(3);
    expect(await stockOf(b.productId)).toBe(4);
    // The order lives in its region's partition.
    const partition = await db.query('select 1 from orders_us where order_id = $1', [placed.body.orderId]);
    expect(partition.rowCount).toBe(1);
    await eventually(async () => {
      const cart = await api<{ items: unknown[] }>('/cart', { token });
      expect(cart.body.items).toEqual([]);
    });
    await eventually(async () => {
      const seen = await api<{ available: number }>(`/products/${a.productId}?consistent=true`);
      expect(seen.body.available).toBe(3);
    });
  });

  it('defaults the region to eu and validates the body and the Idempotency-Key', async () => {
    const p = await createProduct();
    await setStock(p.productId, 5);
    const token = await shopper([{ productId: p.productId, quantity: 1 }]);
    const missing = await order(token, undefined);
    expect(missing.status).toBe(400);
    expect(missing.body.details).toEqual([{ path: 'header.Idempotency-Key', message: 'is required' }]);
    expect((await order(token, 'k'.repeat(129))).status).toBe(400);
    const badRegion = await order(token, uniqueId('key'), { region: 'mars' });
    expect(badRegion.status).toBe(400);
    expect(badRegion.body.details?.map((d) => (d as { path: string }).path)).toEqual(['body.region']);
    const placed = await order(token, uniqueId('key'), {});
    expect(placed.status).toBe(201);
    expect(placed.body.region).toBe('eu');
  });

  it('answers CART_EMPTY (409) for an empty cart', async () => {
    const token = await tokenFor(uniqueId('empty'));
    const response = await order(token, uniqueId('key'));
    expect(response.status).toBe(409);
    expect(response.body.error).toBe('CART_EMPTY');
  });

  it('refuses an order with not enough stock, naming the product, and changes nothing', async () => {
    const plenty = await createProduct();
    const scarce = await createProduct();
    await setStock(plenty.productId, 10);
    await setStock(scarce.productId, 1);
    const token = await shopper([
      { productId: plenty.productId, quantity: 2 },
      { productId: scarce.productId, quantity: 2 },
    ]);
    const response = await order(token, uniqueId('key'));
    expect(response.status).toBe(409);
    expect(response.body.error).toBe('INSUFFICIENT_STOCK');
    expect(response.body.message).toContain(scarce.productId);
    expect(response.body.details).toEqual([{ path: 'items.productId', message: scarce.productId }]);
    expect(await stockOf(plenty.productId)).toBe(10);
    expect(await stockOf(scarce.productId)).toBe(1);
    expect((await api<{ items: unknown[] }>('/cart', { token })).body.items).toHaveLength(2);
    expect((await api<{ items: unknown[] }>('/orders', { token })).body.items).toEqual([]);
  });

  it('replays the same key and body as the same order, and refuses the same key with another body (422)', async () => {
    const p = await createProduct();
    await setStock(p.productId, 5);
    const token = await shopper([{ productId: p.productId, quantity: 1 }]);
    const key = uniqueId('key');
    const first = await order(token, key);
    expect(first.status).toBe(201);
    const replay = await order(token, key);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const other = await order(token, key, { region: 'ap' });
    expect(other.status).toBe(422);
    expect(other.body.error).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await stockOf(p.productId)).toBe(4);
  });

  it('places one order when two requests with the same key race', async () => {
    const p = await createProduct();
    await setStock(p.productId, 5);
    const token = await shopper([{ productId: p.productId, quantity: 1 }]);
    const key = uniqueId('key');
    const [a, b] = await Promise.all([order(token, key), order(token, key)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.orderId).toBe(b.body.orderId);
    expect(await stockOf(p.productId)).toBe(4);
    // Order history comes from the read replica: the token of the write makes it show the order.
    const readYourWrites = { 'x-consistency-token': a.headers.get('x-consistency-token') as string };
    expect(
      (await api<{ items: Order[] }>('/orders', { token, headers: readYourWrites })).body.items,
    ).toHaveLength(1);
  });

  it('sells exactly the stock when 50 buyers race for 10 units', async () => {
    const p = await createProduct();
    await setStock(p.productId, 10);
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => shopper([{ productId: p.productId, quantity: 1 }])),
    );
    const results = await Promise.all(tokens.map((token) => order(token, uniqueId('key'))));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error === 'INSUFFICIENT_STOCK')).toBe(
      true,
    );
    expect(await stockOf(p.productId)).toBe(0);
    const sold = await db.query<{ units: string }>(
      "select coalesce(sum(i.quantity), 0) as units from order_items i join orders o using (region, order_id) where i.product_id = $1 and o.status = 'PLACED'",
      [p.productId],
    );
    expect(Number(sold.rows[0]?.units)).toBe(10);
  }, 120_000);
});

describe('GET /orders and cancellation', () => {
  it('reads order history from the replica, with read-your-writes for the token of a write', async () => {
    const p = await createProduct();
    await setStock(p.productId, 10);
    const token = await shopper([{ productId: p.productId, quantity: 1 }]);
    const placed = await order(token, uniqueId('key'));
    expect(placed.status).toBe(201);
    const consistencyToken = placed.headers.get('x-consistency-token') as string;
    expect(consistencyToken).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    // With the token: always the order just placed, from the replica once it has replayed the commit.
    for (let i = 0; i < 5; i++) {
      const history = await api<{ items: Order[] }>('/orders', {
        token,
        headers: { 'x-consistency-token': consistencyToken },
      });
      expect(history.body.items.map((o) => o.orderId)).toEqual([placed.body.orderId]);
      expect(['replica', 'primary']).toContain(history.headers.get('x-read-source'));
    }
    // Without it, the replica answers (it may not have the order yet) and says so.
    await eventually(async () => {
      const history = await api<{ items: Order[] }>('/orders', { token });
      expect(history.headers.get('x-read-source')).toBe('replica');
      expect(history.body.items).toHaveLength(1);
    });
    const order404 = await api(`/orders/${placed.body.orderId}`, { token });
    expect(order404.status, 'a miss on the replica is checked on the primary').toBe(200);
    const bad = await api<{ details: { path: string }[] }>('/orders', {
      token,
      headers: { 'x-consistency-token': 'latest' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details[0]?.path).toBe('header.x-consistency-token');
  });

  it("lists the caller's orders newest first, a page at a time", async () => {
    const p = await createProduct();
    await setStock(p.productId, 10);
    const token = await tokenFor(uniqueId('pager'));
    const placed: string[] = [];
    let consistencyToken = '';
    for (let i = 0; i < 3; i++) {
      expect(
        (await api(`/cart/items/${p.productId}`, { method: 'PUT', token, body: { quantity: 1 } })).status,
      ).toBe(200);
      const response = await order(token, uniqueId('key'));
      expect(response.status).toBe(201);
      placed.push(response.body.orderId);
      consistencyToken = response.headers.get('x-consistency-token') as string;
      await eventually(async () =>
        expect((await api<{ items: unknown[] }>('/cart', { token })).body.items).toEqual([]),
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Order[]; nextCursor: string | null } } = await api(
        `/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token, headers: { 'x-consistency-token': consistencyToken } },
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((o) => o.orderId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...placed].reverse());
    const bad = await api<{ details: { path: string }[] }>('/orders?cursor=nonsense', { token });
    expect(bad.status).toBe(400);
    expect(bad.body.details[0]?.path).toBe('query.cursor');
    expect((await api('/orders?limit=0', { token })).status).toBe(400);
  });

  it('shows an order to its owner only, and cancels it once, giving the stock back', async () => {
    const p = await createProduct();
    await setStock(p.productId, 3);
    const token = await shopper([{ productId: p.productId, quantity: 2 }]);
    const placed = await order(token, uniqueId('key'));
    expect(placed.status).toBe(201);
    const id = placed.body.orderId;
    expect((await api<Order>(`/orders/${id}`, { token })).body).toEqual(placed.body);
    const stranger = await tokenFor(uniqueId('stranger'));
    expect((await api(`/orders/${id}`, { token: stranger })).status).toBe(404);
    expect((await api(`/orders/${id}/cancel`, { method: 'POST', token: stranger })).status).toBe(404);
    expect((await api(`/orders/${crypto.randomUUID()}`, { token })).status).toBe(404);
    expect((await api('/orders/not-a-uuid', { token })).status).toBe(404);
    expect(await stockOf(p.productId)).toBe(1);

    const cancelled = await api<Order>(`/orders/${id}/cancel`, { method: 'POST', token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    expect(await stockOf(p.productId)).toBe(3);
    const again = await api<{ error: string }>(`/orders/${id}/cancel`, { method: 'POST', token });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('ALREADY_CANCELLED');
    expect(await stockOf(p.productId)).toBe(3);
    await eventually(async () => {
      const seen = await api<{ available: number }>(`/products/${p.productId}?consistent=true`);
      expect(seen.body.available).toBe(3);
    });
  });
});

describe('transactional outbox', () => {
  it('relays an event committed but never sent (a crash after commit) on the next scheduled run', async () => {
    const p = await createProduct();
    await setStock(p.productId, 4);
    await eventually(async () => {
      expect(
        (await api<{ available: number }>(`/products/${p.productId}?consistent=true`)).body.available,
      ).toBe(4);
    });
    // What a function that died right after its commit leaves behind: a change and its unsent event.
    await db.query('update inventory set stock = 9, version = version + 1 where product_id = $1', [
      p.productId,
    ]);
    const version = (
      await db.query<{ version: string }>('select version from inventory where product_id = $1', [
        p.productId,
      ])
    ).rows[0]?.version;
    await db.query(
      `insert into outbox (event_id, source, detail_type, detail) values ($1, 'shop.inventory', 'InventoryChanged', $2)`,
      [
        crypto.randomUUID(),
        JSON.stringify({
          schemaVersion: 1,
          eventId: crypto.randomUUID(),
          occurredAt: new Date().toISOString(),
          productId: p.productId,
          stock: 9,
          version: Number(version),
          reason: 'SET',
        }),
      ],
    );
    const rules = await control<{ name: string; scheduleExpression?: string }[]>('/rules');
    const schedule = rules.find((r) => r.name.includes('OutboxRelaySchedule'));
    expect(schedule?.scheduleExpression).toBe('rate(1 minute)');
    await control(`/schedules/${schedule?.name}/run`, { method: 'POST' });
    await eventually(async () => {
      expect(
        (await api<{ available: number }>(`/products/${p.productId}?consistent=true`)).body.available,
      ).toBe(9);
    });
    const unsent = await db.query('select 1 from outbox where published_at is null');
    expect(unsent.rowCount).toBe(0);
  });
});
