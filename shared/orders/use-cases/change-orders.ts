import { productNotFound } from '../../catalog/domain.ts';
import type { ProductLookup } from '../../catalog/ports.ts';
import { UUID } from '../../ids.ts';
import type { ConsistencyToken } from '../../platform/read-your-writes.ts';
import { type Order, orderNotFound } from '../domain.ts';
import type { OrderChanges, OrderEvents, OrderMetrics, OrderReads } from '../ports.ts';

/**
 * Cancels one of the caller's orders: CANCELLED, its stock given back and the events relayed. An
 * unknown order (or another user's) is `NOT_FOUND`; a cancelled one `ALREADY_CANCELLED` (409).
 * The answer carries the commit's `token` (read-your-writes).
 */
export async function cancelMyOrder(
  ports: Pick<OrderChanges, 'cancelOrder'> & OrderEvents & OrderMetrics & Pick<OrderReads, 'commitToken'>,
  { userId, orderId }: { userId: string; orderId: string },
): Promise<{ order: Order; token: ConsistencyToken }> {
  if (!UUID.test(orderId)) throw orderNotFound(orderId);
  const order = await ports.cancelOrder(userId, orderId);
  ports.count('OrdersCancelled');
  await ports.relayEvents();
  return { order, token: await ports.commitToken() };
}

/**
 * Sets a catalog product's authoritative stock (Postgres) and relays the InventoryChanged event the
 * catalog projects from. A product the catalog does not have (read strongly) is refused (404).
 */
export async function setInventory(
  ports: Pick<OrderChanges, 'setStock'> & OrderEvents & ProductLookup,
  { productId, stock }: { productId: string; stock: number },
): Promise<{ productId: string; stock: number }> {
  if (!(await ports.getProduct(productId, { consistent: true }))) throw productNotFound(productId);
  const result = await ports.setStock(productId, stock);
  await ports.relayEvents();
  return { productId: result.productId, stock: result.stock };
}
