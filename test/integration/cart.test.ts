import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, control, eventually, tokenFor, uniqueId } from './helpers.ts';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface CartBody {
  items: { productId: string; quantity: number; priceCents: number }[];
  totalCents: number;
  version: number;
}
interface ErrorBody {
  error: string;
  message: string;
  details?: { path: string; message: string }[];
}
interface FunctionInfo {
  name: string;
  environment: Record<string, string>;
  invocations: number;
  busy: number;
  queued: number;
}

let adminToken: string;

async function createProduct(name: string, priceCents: number): Promise<string> {
  const response = await api<{ productId: string }>('/products', {
    method: 'POST',
    token: adminToken,
    body: { name, category: 'cart-tests', priceCents, currency: 'EUR' },
  });
  expect(response.status, response.text).toBe(201);
  return response.body.productId;
}

/** A new user with a token of their own: tests never share a cart. */
async function newUser() {
  const userId = uniqueId('shopper');
  return { userId, token: await tokenFor(userId) };
}

const getCart = (token: string) => api<CartBody>('/cart', { token });
const putLine = (token: string, productId: string, body: unknown, headers?: Record<string, string>) =>
  api<CartBody & ErrorBody>(`/cart/items/${productId}`, { method: 'PUT', token, body, headers });
const deleteLine = (token: string, productId: string, headers?: Record<string, string>) =>
  api<CartBody & ErrorBody>(`/cart/items/${productId}`, { method: 'DELETE', token, headers });

let widget: string; // 1299 cents
let gadget: string; // 250 cents

beforeAll(async () => {
  adminToken = await tokenFor(uniqueId('admin'), { admin: true });
  [widget, gadget] = await Promise.all([createProduct('Widget', 1299), createProduct('Gadget', 250)]);
});

describe('GET /cart', () => {
  it('answers the empty cart at version 0 for a user who never wrote one', async () => {
    const { token } = await newUser();
    const response = await getCart(token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [], totalCents: 0, version: 0 });
    expect(response.headers.get('etag')).toBe('"0"');
  });

  it('needs a bearer token (401 from the authorizer)', async () => {
    expect((await api('/cart')).status).toBe(401);
    expect((await api(`/cart/items/${widget}`, { method: 'PUT', body: { quantity: 1 } })).status).toBe(401);
    expect((await api('/cart', { method: 'DELETE' })).status).toBe(401);
  });
});

describe('PUT /cart/items/{productId}', () => {
  it('adds a line at the catalog price, changes its quantity, and totals the cart', async () => {
    const { token } = await newUser();
    const added = await putLine(token, widget, { quantity: 2 });
    expect(added.status, added.text).toBe(200);
    expect(added.body).toEqual({
      items: [{ productId: widget, quantity: 2, priceCents: 1299 }],
      totalCents: 2598,
      version: 1,
    });
    expect(added.headers.get('etag')).toBe('"1"');

    const second = await putLine(token, gadget, { quantity: 3 });
    expect(second.body.totalCents).toBe(2598 + 750);
    expect(second.body.version).toBe(2);

    const changed = await putLine(token, widget, { quantity: 1 });
    expect(changed.status).toBe(200);
    expect(changed.body.items).toHaveLength(2);
    expect(changed.body.items.find((l) => l.productId === widget)).toEqual({
      productId: widget,
      quantity: 1,
      priceCents: 1299,
    });
    expect(changed.body.totalCents).toBe(1299 + 750);
    expect(changed.body.version).toBe(3);
    // Read-your-writes: the owner's next read sees the last write.
    expect((await getCart(token)).body).toEqual(changed.body);
  });

  it("takes the catalog's current price when a line is set", async () => {
    const { token } = await newUser();
    const productId = await createProduct('Repriced', 1000);
    expect((await putLine(token, productId, { quantity: 2 })).body.totalCents).toBe(2000);
    const repriced = await api(`/products/${productId}`, {
      method: 'PUT',
      token: adminToken,
      body: { name: 'Repriced', category: 'cart-tests', priceCents: 1500, currency: 'EUR' },
    });
    expect(repriced.status, repriced.text).toBe(200);
    // The line keeps the price it was set at until it is set again.
    expect((await getCart(token)).body.items[0]?.priceCents).toBe(1000);
    const again = await putLine(token, productId, { quantity: 2 });
    expect(again.body.items).toEqual([{ productId, quantity: 2, priceCents: 1500 }]);
    expect(again.body.totalCents).toBe(3000);
  });

  it.each([
    ['0', { quantity: 0 }],
    ['100', { quantity: 100 }],
    ['"x"', { quantity: 'x' }],
    ['missing', {}],
  ])('answers quantity %s with 400 naming body.quantity and changes nothing', async (_, body) => {
    const { token } = await newUser();
    await putLine(token, widget, { quantity: 1 });
    const response = await putLine(token, widget, body);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('VALIDATION_FAILED');
    expect(response.body.details?.map((d) => d.path)).toEqual(['body.quantity']);
    expect((await getCart(token)).body).toMatchObject({ items: [{ quantity: 1 }], version: 1 });
  });

  it('answers an unknown product with 404 and changes nothing', async () => {
    const { token } = await newUser();
    const response = await putLine(token, uniqueId('no-such-product'), { quantity: 1 });
    expect(response.status).toBe(404);
    expect(response.body.error).toBe('NOT_FOUND');
    expect((await getCart(token)).body).toEqual({ items: [], totalCents: 0, version: 0 });
  });

  it("keeps users' carts apart", async () => {
    const alice = await newUser();
    const bob = await newUser();
    await putLine(alice.token, widget, { quantity: 5 });
    await putLine(bob.token, gadget, { quantity: 1 });
    expect((await getCart(alice.token)).body.items).toEqual([
      { productId: widget, quantity: 5, priceCents: 1299 },
    ]);
    expect((await getCart(bob.token)).body.items).toEqual([
      { productId: gadget, quantity: 1, priceCents: 250 },
    ]);
    await api('/cart', { method: 'DELETE', token: bob.token });
    expect((await getCart(alice.token)).body.totalCents).toBe(5 * 1299);
  });
});

describe('If-Match (optimistic concurrency)', () => {
  it('writes when the version matches and answers 412 without writing when it is stale', async () => {
    const { token } = await newUser();
    const first = await putLine(token, widget, { quantity: 1 }, { 'if-match': '0' });
    expect(first.status, first.text).toBe(200);
    expect(first.body.version).toBe(1);

    const matching = await putLine(token, gadget, { quantity: 2 }, { 'if-match': '1' });
    expect(matching.status).toBe(200);
    expect(matching.body.version).toBe(2);

    // A second client still holding version 1 (or 0) loses.
    const stale = await putLine(token, widget, { quantity: 9 }, { 'if-match': '1' });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toBe('PRECONDITION_FAILED');
    expect(stale.body.message).toMatch(/version 2/);
    expect(stale.body.details).toEqual([{ path: 'header.If-Match', message: 'the current version is 2' }]);
    const staleZero = await putLine(token, widget, { quantity: 9 }, { 'if-match': '0' });
    expect(staleZero.status).toBe(412);
    expect(staleZero.body.message).toMatch(/version 2/);
    expect((await getCart(token)).body).toEqual(matching.body);

    // The ETag as sent, quoted, is accepted back.
    const quoted = await putLine(token, widget, { quantity: 4 }, { 'if-match': '"2"' });
    expect(quoted.status).toBe(200);
    expect(quoted.body.version).toBe(3);
  });

  it('answers a version on an empty cart that is not 0 with 412', async () => {
    const { token } = await newUser();
    const response = await putLine(token, widget, { quantity: 1 }, { 'if-match': '3' });
    expect(response.status).toBe(412);
    expect(response.body.message).toMatch(/version 0/);
    expect((await getCart(token)).body.version).toBe(0);
  });

  it('answers a malformed If-Match with 400 naming header.If-Match', async () => {
    const { token } = await newUser();
    for (const value of ['abc', '-1', '1.5', '*']) {
      const response = await putLine(token, widget, { quantity: 1 }, { 'if-match': value });
      expect(response.status, value).toBe(400);
      expect(response.body.details?.[0]?.path).toBe('header.If-Match');
    }
    expect((await getCart(token)).body.version).toBe(0);
  });

  it('also guards DELETE of a line and of the cart', async () => {
    const { token } = await newUser();
    await putLine(token, widget, { quantity: 1 });
    await putLine(token, gadget, { quantity: 1 });
    const staleLine = await deleteLine(token, widget, { 'if-match': '1' });
    expect(staleLine.status).toBe(412);
    expect(staleLine.body.message).toMatch(/version 2/);
    const staleCart = await api<ErrorBody>('/cart', {
      method: 'DELETE',
      token,
      headers: { 'if-match': '1' },
    });
    expect(staleCart.status).toBe(412);
    expect(staleCart.body.message).toMatch(/version 2/);
    expect((await getCart(token)).body.items).toHaveLength(2);
    // Removing a line that is not there checks the version too.
    expect((await deleteLine(token, uniqueId('absent'), { 'if-match': '1' })).status).toBe(412);

    const removed = await deleteLine(token, widget, { 'if-match': '2' });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({
      items: [{ productId: gadget, quantity: 1, priceCents: 250 }],
      totalCents: 250,
      version: 3,
    });
    const cleared = await api('/cart', { method: 'DELETE', token, headers: { 'if-match': '3' } });
    expect(cleared.status).toBe(204);
    expect((await getCart(token)).body).toEqual({ items: [], totalCents: 0, version: 4 });
  });
});

describe('concurrent writes to one cart', () => {
  it('lets exactly one of several writers holding the same version win (no lost update)', async () => {
    const { token } = await newUser();
    await putLine(token, widget, { quantity: 1 });
    const writers = await Promise.all(
      [2, 3, 4, 5, 6].map((quantity) => putLine(token, widget, { quantity }, { 'if-match': '1' })),
    );
    const statuses = writers.map((w) => w.status).sort();
    expect(statuses).toEqual([200, 412, 412, 412, 412]);
    const winner = writers.find((w) => w.status === 200);
    expect((await getCart(token)).body).toEqual(winner?.body);
    expect(winner?.body.version).toBe(2);
  });

  it('counts every unconditional write in the version (an atomic increment)', async () => {
    const { token } = await newUser();
    const writers = await Promise.all(
      [1, 2, 3, 4, 5].map((quantity) => putLine(token, quantity % 2 ? widget : gadget, { quantity })),
    );
    expect(writers.map((w) => w.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await getCart(token)).body.version).toBe(5);
  });
});

describe('DELETE /cart/items/{productId} and DELETE /cart', () => {
  it('removes a line; removing an absent line is a 200 that changes nothing', async () => {
    const { token } = await newUser();
    await putLine(token, widget, { quantity: 2 });
    await putLine(token, gadget, { quantity: 4 });
    const removed = await deleteLine(token, widget);
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({
      items: [{ productId: gadget, quantity: 4, priceCents: 250 }],
      totalCents: 1000,
      version: 3,
    });
    const again = await deleteLine(token, widget);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(removed.body);
  });

  it('empties the cart with 204 and an empty body, bumping the version rather than resetting it', async () => {
    const { token } = await newUser();
    await putLine(token, widget, { quantity: 2 });
    await putLine(token, gadget, { quantity: 1 });
    const cleared = await api('/cart', { method: 'DELETE', token });
    expect(cleared.status).toBe(204);
    expect(cleared.text).toBe('');
    expect((await getCart(token)).body).toEqual({ items: [], totalCents: 0, version: 3 });
    // A client still holding version 0 must not match the emptied cart.
    expect((await putLine(token, widget, { quantity: 1 }, { 'if-match': '0' })).status).toBe(412);
    // Emptying an empty cart is fine and changes nothing.
    expect((await api('/cart', { method: 'DELETE', token })).status).toBe(204);
    expect((await getCart(token)).body.version).toBe(3);
  });

  it('empties a cart with more lines than one DynamoDB transaction takes', async () => {
    const { userId, token } = await newUser();
    await putLine(token, widget, { quantity: 1 });
    // Seeded straight into the table (layout in shared/cart/adapters/cart-table.ts): 150 products are not needed.
    const functions = await control<FunctionInfo[]>('/functions');
    const TableName = functions.find((f) => f.name.startsWith('Shop-dev-Services-CartApi'))?.environment
      .CARTS_TABLE;
    const table = DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: 'us-east-1', endpoint: inject('endpoints').dynamodb, credentials }),
    );
    const now = new Date();
    const lines = Array.from({ length: 150 }, (_, i) => ({
      pk: `CART#${userId}`,
      sk: `ITEM#seeded-${String(i).padStart(3, '0')}`,
      productId: `seeded-${String(i).padStart(3, '0')}`,
      quantity: 1,
      priceCents: 10,
      updatedAt: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + 3600,
    }));
    for (let i = 0; i < lines.length; i += 25) {
      const batch = lines.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      await table.send(new BatchWriteCommand({ RequestItems: { [TableName as string]: batch } }));
    }
    expect((await getCart(token)).body).toMatchObject({ totalCents: 1299 + 1500, version: 1 });
    expect((await getCart(token)).body.items).toHaveLength(151);

    expect((await api('/cart', { method: 'DELETE', token, headers: { 'if-match': '1' } })).status).toBe(204);
    expect((await getCart(token)).body).toEqual({ items: [], totalCents: 0, version: 2 });
  });
});

describe('OrderPlaced → cart', () => {
  const eventBridge = () =>
    new EventBridgeClient({ region: 'us-east-1', endpoint: inject('endpoints').eventbridge, credentials });

  async function publishOrderPlaced(detail: Record<string, unknown>) {
    const out = await eventBridge().send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'shop-dev',
            Source: 'shop.orders',
            DetailType: 'OrderPlaced',
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
  }

  async function consumerStats(): Promise<FunctionInfo> {
    const functions = await control<FunctionInfo[]>('/functions');
    const consumer = functions.find((f) => f.name.startsWith('Shop-dev-Services-CartOrderPlaced'));
    if (!consumer) throw new Error(`no CartOrderPlaced function in ${functions.map((f) => f.name)}`);
    return consumer;
  }

  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

  it('removes the ordered lines set before the order; later changes and other lines survive; a redelivery changes nothing', async () => {
    const { userId, token } = await newUser();
    const other = await createProduct('Other', 99);
    await putLine(token, widget, { quantity: 2 });
    await putLine(token, gadget, { quantity: 1 });
    await putLine(token, other, { quantity: 7 });
    await tick();
    const createdAt = new Date().toISOString();
    await tick();
    // Changed after the order was placed: the order's event must not take it away.
    await putLine(token, gadget, { quantity: 5 });
    const before = (await getCart(token)).body;
    expect(before.version).toBe(4);

    const detail = {
      schemaVersion: 1,
      eventId: crypto.randomUUID(),
      occurredAt: createdAt,
      orderId: crypto.randomUUID(),
      userId,
      region: 'eu',
      items: [
        { productId: widget, quantity: 2, unitPriceCents: 1299 },
        { productId: gadget, quantity: 1, unitPriceCents: 250 },
      ],
      totalCents: 2848,
      createdAt,
    };
    await publishOrderPlaced(detail);
    const after = await eventually(async () => {
      const cart = (await getCart(token)).body;
      expect(cart.items.map((l) => l.productId)).not.toContain(widget);
      return cart;
    });
    expect(after).toEqual({
      items: [
        { productId: gadget, quantity: 5, priceCents: 250 },
        { productId: other, quantity: 7, priceCents: 99 },
      ].sort((a, b) => (a.productId < b.productId ? -1 : 1)),
      totalCents: 5 * 250 + 7 * 99,
      version: 5,
    });

    // EventBridge delivers at least once: the same event again must change nothing.
    const invoked = (await consumerStats()).invocations;
    await publishOrderPlaced(detail);
    await eventually(async () => {
      const stats = await consumerStats();
      expect(stats.invocations).toBeGreaterThan(invoked);
      expect(stats.busy + stats.queued).toBe(0);
    });
    expect((await getCart(token)).body).toEqual(after);
    const deadLetters = await control<{ event: { detail: { eventId?: string } } }[]>('/dead-letters');
    expect(deadLetters.filter((d) => d.event.detail.eventId === detail.eventId)).toEqual([]);
  });
});
