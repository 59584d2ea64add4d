import { beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/poll.ts';
import { api, expectStatus, type Product, poll, stockedProduct } from './context.ts';

/*
 * Events reaching projections through the target's EventBridge: Postgres writes an event into the
 * outbox, the relay publishes it, a rule delivers it to a consumer function that updates DynamoDB.
 * Each effect is polled for up to the target's deadline.
 */

const productOf = (id: string) => expectStatus<Product>(200, `/products/${id}?consistent=true`);

describe('events reach the projections', () => {
  let product: Product;
  beforeAll(async () => {
    product = await stockedProduct(25, 700);
  });

  it('InventoryChanged: the catalog shows the stock set in Postgres', async () => {
    await eventually(async () => expect((await productOf(product.productId)).available).toBe(25), poll);
  });

  it('OrderPlaced and InventoryChanged: the cart empties and the catalog shows the stock taken', async () => {
    await expectStatus(204, '/cart', { method: 'DELETE', as: 'bob' });
    await expectStatus(200, `/cart/items/${product.productId}`, {
      method: 'PUT',
      as: 'bob',
      body: { quantity: 3 },
    });
    const order = await api<{ orderId: string }>('/orders', {
      method: 'POST',
      as: 'bob',
      body: { region: 'eu' },
      headers: { 'idempotency-key': crypto.randomUUID() },
    });
    expect(order.status, order.text).toBe(201);
    await eventually(async () => {
      const cart = await expectStatus<{ items: unknown[] }>(200, '/cart', { as: 'bob' });
      expect(cart.items).toEqual([]);
    }, poll);
    await eventually(async () => expect((await productOf(product.productId)).available).toBe(22), poll);

    // Cancelling gives the stock back, and the catalog follows again.
    await expectStatus(200, `/orders/${order.body.orderId}/cancel`, { method: 'POST', as: 'bob' });
    await eventually(async () => expect((await productOf(product.productId)).available).toBe(25), poll);
  });
});
