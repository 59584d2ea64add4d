import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getCart } from '../../cart/adapters/cart-table.ts';
import { getProduct, getProductsConsistent } from '../../catalog/adapters/catalog-table.ts';
import { metrics } from '../../observability.ts';
import { relayAfterCommit } from '../../platform/adapters/event-publisher.ts';
import { commitToken, readPoolFor } from '../../platform/adapters/postgres-reader.ts';
import type { OrderPorts } from '../ports.ts';
import {
  cancelOrder,
  findOrderRequest,
  getOrder,
  listOrders,
  placeOrder,
  relayOutbox,
  setStock,
} from './orders-db.ts';

/**
 * The orders function's ports as deployed: orders and stock in Postgres (reads on the replica when
 * the caller's token allows), the cart and catalog tables, the shop bus and EMF metrics.
 */
export const orderPorts: OrderPorts = {
  getCart,
  getProductsConsistent,
  getProduct,
  findOrderRequest,
  getOrder: (userId, orderId) => getOrder(userId, orderId),
  placeOrder,
  cancelOrder,
  setStock,
  relayEvents: () => relayAfterCommit(() => relayOutbox()),
  count: (metric) => metrics.addMetric(metric, MetricUnit.Count, 1),
  commitToken: () => commitToken(),
  readerFor: async (token) => {
    const { db, source } = await readPoolFor(token);
    return {
      source,
      reader: {
        getOrder: (userId, orderId) => getOrder(userId, orderId, db),
        listOrders: (userId, options) => listOrders(userId, { ...options, db }),
      },
    };
  },
};
