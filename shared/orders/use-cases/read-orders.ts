import { UUID } from '../../ids.ts';
import type { ConsistencyToken, ReadSource } from '../../platform/read-your-writes.ts';
import { type Order, orderNotFound } from '../domain.ts';
import type { OrderKey, OrderReads, OrderStore } from '../ports.ts';

/**
 * The caller's orders, read from the replica (which may lag) unless the caller's consistency
 * `token` says it has not replayed the caller's own writes yet; `source` says who answered.
 */

/** One page of the caller's orders, newest first, after `after`; `last` is set when more follow. */
export async function listMyOrders(
  ports: Pick<OrderReads, 'readerFor'>,
  request: { userId: string; limit: number; after?: OrderKey; token?: ConsistencyToken },
): Promise<{ orders: Order[]; last?: OrderKey; source: ReadSource }> {
  const { source, reader } = await ports.readerFor(request.token);
  const page = await reader.listOrders(request.userId, { limit: request.limit, after: request.after });
  return { ...page, source };
}

/**
 * One of the caller's orders; another user's order, or none, is `NOT_FOUND` (404). An order the
 * replica does not show is looked up on the primary: it may just not have arrived there yet.
 *
 * @example
 * const { order, source } = await getMyOrder(ports, { userId, orderId, token });
 */
export async function getMyOrder(
  ports: Pick<OrderReads, 'readerFor'> & Pick<OrderStore, 'getOrder'>,
  { userId, orderId, token }: { userId: string; orderId: string; token?: ConsistencyToken },
): Promise<{ order: Order; source: ReadSource }> {
  if (!UUID.test(orderId)) throw orderNotFound(orderId);
  const { source, reader } = await ports.readerFor(token);
  const order = await reader.getOrder(userId, orderId);
  if (order) return { order, source };
  const primary = source === 'replica' ? await ports.getOrder(userId, orderId) : undefined;
  if (!primary) throw orderNotFound(orderId);
  return { order: primary, source: 'primary' };
}
