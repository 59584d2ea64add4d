import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Product, ProductPage } from '../../shared/catalog/domain.ts';
import { api, control, eventually, tokenFor, uniqueId } from './helpers.ts';

interface ErrorBody {
  error: string;
  message: string;
  details?: { path: string; message: string }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const detailPaths = (body: unknown) => ((body as ErrorBody).details ?? []).map((d) => d.path).sort();

let admin: string;
let shopper: string;
let events: EventBridgeClient;

beforeAll(async () => {
  admin = await tokenFor('catalog-admin', { admin: true });
  shopper = await tokenFor('catalog-shopper');
  events = new EventBridgeClient({
    endpoint: inject('endpoints').eventbridge,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(() => events?.destroy());

const productBody = (overrides: Record<string, unknown> = {}) => ({
  name: 'Arabica beans',
  description: 'Single origin, 1 kg',
  category: uniqueId('coffee'),
  priceCents: 1299,
  currency: 'EUR',
  ...overrides,
});

async function createProduct(overrides: Record<string, unknown> = {}): Promise<Product> {
  const response = await api<Product>('/products', {
    method: 'POST',
    token: admin,
    body: productBody(overrides),
  });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

const getConsistent = (productId: string) => api<Product>(`/products/${productId}?consistent=true`);

describe('POST /products', () => {
  it('creates a product with a new id, nothing available, version 1', async () => {
    const body = productBody();
    const response = await api<Product>('/products', { method: 'POST', token: admin, body });
    expect(response.status, response.text).toBe(201);
    const product = response.body;
    expect(product.productId).toMatch(UUID);
    expect(product).toEqual({
      productId: product.productId,
      name: 'Arabica beans',
      description: 'Single origin, 1 kg',
      category: body.category,
      priceCents: 1299,
      currency: 'EUR',
      available: 0,
      version: 1,
      createdAt: product.createdAt,
      updatedAt: product.createdAt,
    });
    expect(Date.now() - Date.parse(product.createdAt)).toBeLessThan(60_000);
    // And it is stored as shown (no table bookkeeping leaks out).
    expect((await getConsistent(product.productId)).body).toEqual(product);
  });

  it('answers 400 naming every bad field at once', async () => {
    const response = await api<ErrorBody>('/products', {
      method: 'POST',
      token: admin,
      body: { name: '', category: 'Not A Slug', priceCents: 12.5, currency: 'euro' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('VALIDATION_FAILED');
    expect(detailPaths(response.body)).toEqual([
      'body.category',
      'body.currency',
      'body.name',
      'body.priceCents',
    ]);
  });

  it('answers 400 naming each missing field for an empty body, and the body when it is not JSON', async () => {
    const empty = await api<ErrorBody>('/products', { method: 'POST', token: admin });
    expect(empty.status).toBe(400);
    expect(detailPaths(empty.body)).toEqual([
      'body.category',
      'body.currency',
      'body.name',
      'body.priceCents',
    ]);
    const response = await fetch(`${inject('apiUrl')}/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(response.status).toBe(400);
    expect(detailPaths(await response.json())).toEqual(['body']);
  });

  it('answers 403 to a caller outside the admin group and 401 without a valid token', async () => {
    const forbidden = await api<ErrorBody>('/products', {
      method: 'POST',
      token: shopper,
      body: productBody(),
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toBe('FORBIDDEN');
    expect((await api('/products', { method: 'POST', body: productBody() })).status).toBe(401);
    expect((await api('/products', { method: 'POST', token: 'garbage', body: productBody() })).status).toBe(
      401,
    );
  });

  it('creates one product per Idempotency-Key: a retry returns it, another body is 422', async () => {
    const body = productBody();
    const key = uniqueId('create');
    const post = (b: unknown, k = key) =>
      api<Product & ErrorBody>('/products', {
        method: 'POST',
        token: admin,
        body: b,
        headers: { 'idempotency-key': k },
      });
    const first = await post(body);
    expect(first.status).toBe(201);
    const retry = await post(body);
    expect(retry.status).toBe(201);
    expect(retry.body.productId).toBe(first.body.productId);
    const listed = await api<ProductPage>(`/products?category=${body.category}&limit=10`);
    expect(listed.body.items.map((p) => p.productId)).toEqual([first.body.productId]);
    const other = await post({ ...body, priceCents: 1 });
    expect(other.status).toBe(422);
    expect(other.body.error).toBe('IDEMPOTENCY_KEY_REUSED');
    const badKey = await post(body, 'k'.repeat(129));
    expect(badKey.status).toBe(400);
    expect(detailPaths(badKey.body)).toEqual(['header.Idempotency-Key']);
  });
});

describe('GET /products/{productId}', () => {
  it('reads eventually consistent by default and strongly consistent when asked', async () => {
    const created = await createProduct();
    const eventual = await eventually(async () => {
      const response = await api<Product>(`/products/${created.productId}`);
      expect(response.status).toBe(200);
      return response;
    });
    expect(eventual.headers.get('x-read-consistency')).toBe('eventual');
    expect(eventual.body).toEqual(created);
    const strong = await getConsistent(created.productId);
    expect(strong.status).toBe(200);
    expect(strong.headers.get('x-read-consistency')).toBe('strong');
    expect(strong.body).toEqual(created);
    const explicit = await api<Product>(`/products/${created.productId}?consistent=false`);
    expect(explicit.headers.get('x-read-consistency')).toBe('eventual');
  });

  it('answers 404 for an unknown product, 400 for a consistent flag that is not true/false', async () => {
    const missing = await api<ErrorBody>(`/products/${crypto.randomUUID()}?consistent=true`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('NOT_FOUND');
    expect((await api(`/products/${'x'.repeat(300)}`)).status).toBe(404);
    const bad = await api<ErrorBody>(`/products/${crypto.randomUUID()}?consistent=yes`);
    expect(bad.status).toBe(400);
    expect(detailPaths(bad.body)).toEqual(['query.consistent']);
  });
});

describe('PUT /products/{productId}', () => {
  it('replaces the fields, bumps the version and keeps the id, createdAt and available', async () => {
    const created = await createProduct();
    const category = uniqueId('tea');
    const response = await api<Product>(`/products/${created.productId}`, {
      method: 'PUT',
      token: admin,
      body: {
        name: 'Sencha',
        category,
        priceCents: 850,
        currency: 'JPY',
        productId: 'ignored',
        available: 99,
      },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({
      productId: created.productId,
      name: 'Sencha',
      category,
      priceCents: 850,
      currency: 'JPY',
      available: 0,
      version: 2,
      createdAt: created.createdAt,
      updatedAt: response.body.updatedAt,
    });
    expect(response.body).not.toHaveProperty('description');
    expect(Date.parse(response.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect((await getConsistent(created.productId)).body).toEqual(response.body);
    // It moved to its new category's listing and left the old one.
    const moved = await eventually(async () => {
      const listed = await api<ProductPage>(`/products?category=${category}`);
      expect(listed.body.items.map((p) => p.productId)).toEqual([created.productId]);
      return listed;
    });
    expect(moved.body.items[0]?.version).toBe(2);
    await eventually(async () => {
      const old = await api<ProductPage>(`/products?category=${created.category}`);
      expect(old.body.items).toEqual([]);
    });
    const again = await api<Product>(`/products/${created.productId}`, {
      method: 'PUT',
      token: admin,
      body: productBody({ category }),
    });
    expect(again.body.version).toBe(3);
  });

  it('answers 404 for an unknown product without creating it', async () => {
    const productId = crypto.randomUUID();
    const response = await api<ErrorBody>(`/products/${productId}`, {
      method: 'PUT',
      token: admin,
      body: productBody(),
    });
    expect(response.status).toBe(404);
    expect(response.body.error).toBe('NOT_FOUND');
    expect((await getConsistent(productId)).status).toBe(404);
  });

  it('answers 400 for a bad body, 403 for a non-admin, 401 without a token', async () => {
    const { productId } = await createProduct();
    const bad = await api<ErrorBody>(`/products/${productId}`, {
      method: 'PUT',
      token: admin,
      body: productBody({ priceCents: -5, currency: 'EURO' }),
    });
    expect(bad.status).toBe(400);
    expect(detailPaths(bad.body)).toEqual(['body.currency', 'body.priceCents']);
    const forbidden = await api(`/products/${productId}`, {
      method: 'PUT',
      token: shopper,
      body: productBody(),
    });
    expect(forbidden.status).toBe(403);
    expect((await api(`/products/${productId}`, { method: 'PUT', body: productBody() })).status).toBe(401);
    expect((await getConsistent(productId)).body.version).toBe(1);
  });
});

describe('GET /products', () => {
  /** Every page of a listing, following nextCursor. */
  async function allPages(query: string, maxPages = 50): Promise<ProductPage[]> {
    const pages: ProductPage[] = [];
    let cursor: string | null = null;
    do {
      const separator = query ? '&' : '';
      const url: string = `/products?${query}${cursor ? `${separator}cursor=${cursor}` : ''}`;
      const response = await api<ProductPage>(url);
      expect(response.status, response.text).toBe(200);
      pages.push(response.body);
      cursor = response.body.nextCursor;
    } while (cursor && pages.length < maxPages);
    return pages;
  }

  it('pages through a category by name, each product once, nextCursor null at the end', async () => {
    const category = uniqueId('page');
    const names = ['delta', 'Alpha', 'echo', 'charlie', 'Bravo'];
    const created = await Promise.all(names.map((name) => createProduct({ name, category })));
    const pages = await eventually(async () => {
      const found = await allPages(`category=${category}&limit=2`);
      expect(found.flatMap((p) => p.items)).toHaveLength(5);
      return found;
    });
    expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1]);
    expect(pages.map((p) => p.nextCursor === null)).toEqual([false, false, true]);
    const items = pages.flatMap((p) => p.items);
    expect(items.map((p) => p.name)).toEqual(['Alpha', 'Bravo', 'charlie', 'delta', 'echo']);
    expect(new Set(items.map((p) => p.productId))).toEqual(new Set(created.map((p) => p.productId)));
    expect(items.find((p) => p.name === 'delta')).toEqual(created.find((p) => p.name === 'delta'));
    // A page that ends exactly at the end says so, rather than leaving an empty page to fetch.
    const exact = await allPages(`category=${category}&limit=5`);
    expect(exact.map((p) => [p.items.length, p.nextCursor])).toEqual([[5, null]]);
  });

  it('lists all products (index byType) sorted by name, 20 per page by default', async () => {
    const mine = await createProduct({ name: `zz-${uniqueId('all')}` });
    const first = await api<ProductPage>('/products');
    expect(first.status).toBe(200);
    expect(first.body.items.length).toBeGreaterThan(0);
    expect(first.body.items.length).toBeLessThanOrEqual(20);
    const pages = await eventually(async () => {
      const found = await allPages('limit=100');
      expect(found.flatMap((p) => p.items).map((p) => p.productId)).toContain(mine.productId);
      return found;
    });
    const items = pages.flatMap((p) => p.items);
    expect(new Set(items.map((p) => p.productId)).size).toBe(items.length);
    const sortKeys = items.map((p) => `${p.name.toLowerCase()}#${p.productId}`);
    expect(sortKeys).toEqual([...sortKeys].sort());
    expect(pages.at(-1)?.nextCursor).toBeNull();
  });

  it('answers 400 naming query.cursor and query.limit for a bad cursor or limit', async () => {
    const category = uniqueId('cursor');
    await Promise.all(['a', 'b'].map((name) => createProduct({ name, category })));
    const first = await eventually(async () => {
      const page = await api<ProductPage>(`/products?category=${category}&limit=1`);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      return page.body;
    });
    const cursor = first.nextCursor as string;
    // The cursor works where it came from…
    const second = await api<ProductPage>(`/products?category=${category}&limit=1&cursor=${cursor}`);
    expect(second.body.items.map((p) => p.name)).toEqual(['b']);
    // …but not for another category, for all products, or once tampered with.
    for (const query of [
      `category=${uniqueId('other')}&cursor=${cursor}`,
      `cursor=${cursor}`,
      `category=${category}&cursor=${cursor.slice(0, -4)}`,
      `category=${category}&cursor=not-a-cursor`,
      `cursor=${Buffer.from('{"pk":1}').toString('base64url')}`,
      'cursor=%25%25',
    ]) {
      const response = await api<ErrorBody>(`/products?${query}`);
      expect(response.status, query).toBe(400);
      expect(detailPaths(response.body), query).toEqual(['query.cursor']);
    }
    for (const limit of ['0', '101', 'abc', '2.5', '-1']) {
      const response = await api<ErrorBody>(`/products?limit=${limit}`);
      expect(response.status, limit).toBe(400);
      expect(detailPaths(response.body), limit).toEqual(['query.limit']);
    }
  });
});

describe('the stock projection (InventoryChanged → available)', () => {
  const inventoryChanged = (
    productId: string,
    stock: number,
    version: number,
    eventId = crypto.randomUUID(),
  ) => ({
    schemaVersion: 1,
    eventId,
    occurredAt: new Date().toISOString(),
    productId,
    stock,
    version,
    reason: 'SET',
  });

  async function putEvents(...details: object[]) {
    const out = await events.send(
      new PutEventsCommand({
        Entries: details.map((detail) => ({
          EventBusName: 'shop-dev',
          Source: 'shop.inventory',
          DetailType: 'InventoryChanged',
          Detail: JSON.stringify(detail),
        })),
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
  }

  /** Invokes the projection synchronously with an EventBridge event, as the bus would. */
  async function invokeProjection(detail: object) {
    const functions = await control<{ name: string }[]>('/functions');
    const fn = functions.find((f) => f.name.startsWith('Shop-dev-Services-CatalogStockProjection'));
    expect(fn).toBeDefined();
    return control<{ ok: boolean; error?: { errorType: string; errorMessage: string } }>(
      `/functions/${fn?.name}/invoke`,
      {
        method: 'POST',
        body: JSON.stringify({
          version: '0',
          id: crypto.randomUUID(),
          'detail-type': 'InventoryChanged',
          source: 'shop.inventory',
          account: '000000000000',
          time: new Date().toISOString(),
          region: 'us-east-1',
          resources: [],
          detail,
        }),
      },
    );
  }

  const available = async (productId: string) => (await getConsistent(productId)).body.available;

  it('projects the stock of an event on the bus onto available', async () => {
    const { productId } = await createProduct();
    await putEvents(inventoryChanged(productId, 7, 2));
    await eventually(async () => expect(await available(productId)).toBe(7));
  });

  it('ignores an older version and a redelivery, whatever order they arrive in', async () => {
    const { productId } = await createProduct();
    const current = inventoryChanged(productId, 7, 2);
    await putEvents(current);
    await eventually(async () => expect(await available(productId)).toBe(7));
    // Older first, then a redelivery of the current one, then a newer one: only the newer one counts.
    await putEvents(
      inventoryChanged(productId, 99, 1),
      { ...current, stock: 42 },
      inventoryChanged(productId, 5, 3),
    );
    await eventually(async () => expect(await available(productId)).toBe(5));
    // A newer one in the same batch as an older one, older last: still the newer one.
    await putEvents(inventoryChanged(productId, 11, 5), inventoryChanged(productId, 66, 4));
    await eventually(async () => expect(await available(productId)).toBe(11));
    expect(await available(productId)).toBe(11);
  });

  it('changes nothing when invoked with an old or redelivered event, and ends normally', async () => {
    const { productId } = await createProduct();
    const event = inventoryChanged(productId, 3, 4);
    expect((await invokeProjection(event)).ok).toBe(true);
    expect(await available(productId)).toBe(3);
    expect((await invokeProjection(event)).ok).toBe(true);
    expect((await invokeProjection({ ...event, stock: 8 })).ok).toBe(true);
    expect((await invokeProjection(inventoryChanged(productId, 1, 3))).ok).toBe(true);
    expect(await available(productId)).toBe(3);
    expect((await invokeProjection(inventoryChanged(productId, 0, 5))).ok).toBe(true);
    expect(await available(productId)).toBe(0);
  });

  it('leaves the product itself alone, and a PUT leaves available alone', async () => {
    const created = await createProduct();
    expect((await invokeProjection(inventoryChanged(created.productId, 12, 1))).ok).toBe(true);
    const after = (await getConsistent(created.productId)).body;
    expect(after).toEqual({ ...created, available: 12 });
    const updated = await api<Product>(`/products/${created.productId}`, {
      method: 'PUT',
      token: admin,
      body: productBody({ name: 'Robusta' }),
    });
    expect(updated.body).toMatchObject({ name: 'Robusta', available: 12, version: 2 });
    // The stock version survived the PUT too: an older inventory event is still refused.
    expect((await invokeProjection(inventoryChanged(created.productId, 50, 1))).ok).toBe(true);
    expect(await available(created.productId)).toBe(12);
  });

  it('ignores an event for a product the catalog does not have, without creating it', async () => {
    const productId = crypto.randomUUID();
    expect((await invokeProjection(inventoryChanged(productId, 4, 1))).ok).toBe(true);
    expect((await getConsistent(productId)).status).toBe(404);
  });

  it('fails on an invalid detail, so EventBridge retries and dead-letters it', async () => {
    const { productId } = await createProduct();
    const result = await invokeProjection({ ...inventoryChanged(productId, 4, 1), stock: -1 });
    expect(result.ok).toBe(false);
    expect(result.error?.errorType).toBe('ZodError');
    expect((await invokeProjection({ productId })).ok).toBe(false);
    expect(await available(productId)).toBe(0);
  });
});
