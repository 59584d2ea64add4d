import { beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/poll.ts';
import { api, context, expectStatus, type Product, poll, stockedProduct } from './context.ts';

/*
 * The API contract of README → API, against whatever target is deployed. Only what holds on every
 * target is asserted: status codes, the JSON error shape naming the field, headers, idempotency.
 */

interface Cart {
  items: { productId: string; quantity: number; priceCents: number }[];
  totalCents: number;
  version: number;
}
interface Order {
  orderId: string;
  status: string;
  region: string;
  totalCents: number;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
}

describe('platform', () => {
  it('GET /health is public and reports DynamoDB, S3 and Postgres up', async () => {
    const health = await expectStatus<{ status: string; checks: Record<string, { ok: boolean }> }>(
      200,
      '/health',
    );
    expect(health.status).toBe('ok');
    expect(Object.keys(health.checks).sort()).toEqual(['dynamodb', 'postgres', 's3']);
  });

  it('GET /me answers 401 without a token or with a forged one, and names the caller with one', async () => {
    expect((await api('/me')).status).toBe(401);
    expect((await api('/me', { token: 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA' })).status).toBe(401);
    const alice = await expectStatus<{ userId: string; isAdmin: boolean }>(200, '/me', { as: 'alice' });
    expect(alice.userId).not.toBe('');
    expect(alice.isAdmin).toBe(false);
    const admin = await expectStatus<{ userId: string; groups: string[]; isAdmin: boolean }>(200, '/me', {
      as: 'admin',
    });
    expect(admin).toMatchObject({ isAdmin: true, groups: ['admin'] });
    expect(admin.userId).not.toBe(alice.userId);
  });
});

describe('catalog', () => {
  it('lets only admins write: 401 without a token, 403 for a plain user', async () => {
    const body = { name: 'x', category: 'e2e', priceCents: 100, currency: 'EUR' };
    expect((await api('/products', { method: 'POST', body })).status).toBe(401);
    const forbidden = await api('/products', { method: 'POST', as: 'alice', body });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ error: 'FORBIDDEN' });
  });

  it('answers bad input with a 400 naming the field', async () => {
    const response = await api<{ error: string; details: { path: string }[] }>('/products', {
      method: 'POST',
      as: 'admin',
      body: { name: 'Cup', category: 'e2e', priceCents: -5, currency: 'EUR' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('VALIDATION_FAILED');
    expect(response.body.details.map((d) => d.path)).toContain('body.priceCents');
    const badLimit = await api<{ details: { path: string }[] }>('/products?limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.details.map((d) => d.path)).toContain('query.limit');
  });

  it('creates, reads (strongly when asked), lists by category and replaces a product', async () => {
    const created = await expectStatus<Product>(201, '/products', {
      method: 'POST',
      as: 'admin',
      body: { name: 'Espresso cup', category: `e2e-${context.runId}-cat`, priceCents: 1299, currency: 'EUR' },
    });
    expect(created).toMatchObject({ priceCents: 1299, version: 1, available: 0 });
    const strong = await api<Product>(`/products/${created.productId}?consistent=true`);
    expect(strong.status).toBe(200);
    expect(strong.headers.get('x-read-consistency')).toBe('strong');
    expect(strong.body.name).toBe('Espresso cup');
    // A GSI is eventually consistent: the new product may take a moment to be listed.
    await eventually(async () => {
      const list = await expectStatus<{ items: Product[] }>(
        200,
        `/products?category=e2e-${context.runId}-cat&limit=10`,
      );
      expect(list.items.map((p) => p.productId)).toContain(created.productId);
    }, poll);
    const replaced = await expectStatus<Product>(200, `/products/${created.productId}`, {
      method: 'PUT',
      as: 'admin',
      body: { name: 'Espresso cup', category: `e2e-${context.runId}-cat`, priceCents: 1399, currency: 'EUR' },
    });
    expect(replaced).toMatchObject({ priceCents: 1399, version: 2 });
    expect((await api(`/products/${crypto.randomUUID()}`)).status).toBe(404);
  });
});

describe('cart and orders', () => {
  let product: Product;
  beforeAll(async () => {
    product = await stockedProduct(5, 1000);
    await expectStatus(204, '/cart', { method: 'DELETE', as: 'alice' });
  });

  it('prices cart lines from the catalog and refuses a stale If-Match with 412', async () => {
    const cart = await expectStatus<Cart>(200, `/cart/items/${product.productId}`, {
      method: 'PUT',
      as: 'alice',
      body: { quantity: 2 },
    });
    expect(cart.items).toEqual([{ productId: product.productId, quantity: 2, priceCents: 1000 }]);
    expect(cart.totalCents).toBe(2000);
    const read = await api<Cart>('/cart', { as: 'alice' });
    expect(read.headers.get('etag')).toBe(`"${cart.version}"`);
    const stale = await api(`/cart/items/${product.productId}`, {
      method: 'PUT',
      as: 'alice',
      body: { quantity: 3 },
      headers: { 'if-match': String(cart.version - 1) },
    });
    expect(stale.status).toBe(412);
    const invalid = await api<{ details: { path: string }[] }>(`/cart/items/${product.productId}`, {
      method: 'PUT',
      as: 'alice',
      body: { quantity: 100 },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.details.map((d) => d.path)).toContain('body.quantity');
  });

  it('places an order once per Idempotency-Key, keeps it private, and cancels it once', async () => {
    expect((await api('/orders', { method: 'POST', as: 'alice', body: { region: 'eu' } })).status).toBe(400);
    const key = `e2e-${context.runId}-order`;
    const order = await expectStatus<Order>(201, '/orders', {
      method: 'POST',
      as: 'alice',
      body: { region: 'us' },
      headers: { 'idempotency-key': key },
    });
    expect(order).toMatchObject({ status: 'PLACED', region: 'us', totalCents: 2000 });
    const retried = await api<Order>('/orders', {
      method: 'POST',
      as: 'alice',
      body: { region: 'us' },
      headers: { 'idempotency-key': key },
    });
    expect([200, 201]).toContain(retried.status);
    expect(retried.body.orderId).toBe(order.orderId);
    const otherBody = await api('/orders', {
      method: 'POST',
      as: 'alice',
      body: { region: 'ap' },
      headers: { 'idempotency-key': key },
    });
    expect(otherBody.status).toBe(422);

    expect((await expectStatus<Order>(200, `/orders/${order.orderId}`, { as: 'alice' })).orderId).toBe(
      order.orderId,
    );
    expect((await api(`/orders/${order.orderId}`, { as: 'bob' })).status).toBe(404);
    const mine = await expectStatus<{ items: Order[] }>(200, '/orders?limit=5', { as: 'alice' });
    expect(mine.items.map((o) => o.orderId)).toContain(order.orderId);

    const cancelled = await expectStatus<Order>(200, `/orders/${order.orderId}/cancel`, {
      method: 'POST',
      as: 'alice',
    });
    expect(cancelled.status).toBe('CANCELLED');
    const again = await api(`/orders/${order.orderId}/cancel`, { method: 'POST', as: 'alice' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'ALREADY_CANCELLED' });
  });

  it('refuses an order beyond the stock with 409 naming the product, and an empty cart with 409', async () => {
    await expectStatus(204, '/cart', { method: 'DELETE', as: 'bob' });
    const empty = await api('/orders', {
      method: 'POST',
      as: 'bob',
      body: {},
      headers: { 'idempotency-key': `e2e-${context.runId}-empty` },
    });
    expect(empty.status).toBe(409);
    expect(empty.body).toMatchObject({ error: 'CART_EMPTY' });
    await expectStatus(200, `/cart/items/${product.productId}`, {
      method: 'PUT',
      as: 'bob',
      body: { quantity: 99 },
    });
    const short = await api<{ error: string; message: string }>('/orders', {
      method: 'POST',
      as: 'bob',
      body: {},
      headers: { 'idempotency-key': `e2e-${context.runId}-short` },
    });
    expect(short.status).toBe(409);
    expect(short.body.error).toBe('INSUFFICIENT_STOCK');
    expect(short.text).toContain(product.productId);
    await expectStatus(204, '/cart', { method: 'DELETE', as: 'bob' });
  });
});
