import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import { OrderListQuery } from '../../shared/api/schemas.ts';
import { identityFrom, requireAdmin } from '../../shared/auth/identity.ts';
import { getCart } from '../../shared/cart/adapters/cart-table.ts';
import { getProduct, getProductsConsistent } from '../../shared/catalog/adapters/catalog-table.ts';
import { CursorTimestamp, decodeCursor, encodeCursor } from '../../shared/http/cursor.ts';
import { badRequest, HttpError, notFound } from '../../shared/http/errors.ts';
import { header, idempotencyKey, parseBody, parseQuery, pathParameter } from '../../shared/http/request.ts';
import { json } from '../../shared/http/response.ts';
import { routes } from '../../shared/http/router.ts';
import { UUID } from '../../shared/ids.ts';
import { httpHandler, metrics } from '../../shared/middleware/http-handler.ts';
import {
  cancelOrder,
  findOrderRequest,
  getOrder,
  listOrders,
  placeOrder,
  relayOutbox,
  setStock,
} from '../../shared/orders/adapters/orders-db.ts';
import { OrderError, PlaceOrderInput, SetStockInput } from '../../shared/orders/domain.ts';
import { checkout } from '../../shared/orders/use-cases/checkout.ts';
import { relayAfterCommit } from '../../shared/platform/adapters/event-publisher.ts';
import {
  CONSISTENCY_TOKEN,
  type ConsistencyToken,
  commitToken,
  readPoolFor,
} from '../../shared/platform/adapters/postgres-reader.ts';

const ORDER_ERRORS: Record<OrderError['code'], number> = {
  CART_EMPTY: 409,
  INSUFFICIENT_STOCK: 409,
  PRODUCT_UNAVAILABLE: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  CART_ALREADY_ORDERED: 409,
  ORDER_NOT_FOUND: 404,
  ALREADY_CANCELLED: 409,
};

/** Domain refusals become their HTTP answers; INSUFFICIENT_STOCK names the product. */
async function answering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof OrderError)) throw error;
    const details = error.productId
      ? [{ path: 'items.productId', message: error.productId }]
      : error.orderId
        ? [{ path: 'orderId', message: error.orderId }]
        : undefined;
    throw new HttpError(
      ORDER_ERRORS[error.code],
      error.code === 'ORDER_NOT_FOUND' ? 'NOT_FOUND' : error.code,
      error.message,
      details,
    );
  }
}

const relaySoon = () => relayAfterCommit(() => relayOutbox());

/**
 * Read-your-writes over the read replica: writes answer with `x-consistency-token` (the WAL position
 * of their commit); a read that sends it back is served by the replica only once it has replayed
 * that far, else by the primary. Reads without it come from the replica and may lag.
 */
const TOKEN_HEADER = 'x-consistency-token';

const withToken = async (headers: Record<string, string> = {}) => ({
  ...headers,
  [TOKEN_HEADER]: await commitToken(),
});

function consistencyToken(event: APIGatewayProxyEvent): ConsistencyToken | undefined {
  const token = header(event, TOKEN_HEADER);
  if (token === undefined) return undefined;
  if (!CONSISTENCY_TOKEN.test(token)) {
    throw badRequest('The consistency token is invalid', [
      { path: `header.${TOKEN_HEADER}`, message: 'must be an x-consistency-token from a previous answer' },
    ]);
  }
  return token;
}

const checkoutPorts = { getCart, getProductsConsistent, findOrderRequest, getOrder, placeOrder };

/** `POST /orders`: the caller's cart becomes an order, exactly once per Idempotency-Key (see `checkout`). */
async function createOrder(event: APIGatewayProxyEvent) {
  const { userId } = identityFrom(event);
  const key = idempotencyKey(event, { required: true });
  const input = parseBody(event, PlaceOrderInput);
  const { order, replayed } = await answering(() =>
    checkout(checkoutPorts, { userId, idempotencyKey: key, input }),
  );
  if (!replayed) {
    metrics.addMetric('OrdersPlaced', MetricUnit.Count, 1);
    await relaySoon();
  }
  return json(201, order, await withToken(replayed ? { 'idempotent-replayed': 'true' } : {}));
}

const Cursor = z.object({ c: CursorTimestamp, o: z.string().regex(UUID) });

/** `GET /orders`: the caller's orders, newest first, a page at a time. */
async function listMyOrders(event: APIGatewayProxyEvent) {
  const { userId } = identityFrom(event);
  const query = parseQuery(event, OrderListQuery);
  const cursor = decodeCursor(query.cursor, Cursor);
  const after = cursor && { createdAt: cursor.c, orderId: cursor.o };
  const { db, source } = await readPoolFor(consistencyToken(event));
  const page = await listOrders(userId, { limit: query.limit, after, db });
  const nextCursor = page.last ? encodeCursor({ c: page.last.createdAt, o: page.last.orderId }) : null;
  return json(200, { items: page.orders, nextCursor }, { 'x-read-source': source });
}

/** `GET /orders/{orderId}`: 404 for anyone but the owner. */
async function getMyOrder(event: APIGatewayProxyEvent) {
  const { userId } = identityFrom(event);
  const orderId = pathParameter(event, 'orderId');
  const token = consistencyToken(event);
  if (!UUID.test(orderId)) throw notFound(`Order ${orderId} does not exist`);
  const reader = await readPoolFor(token);
  let source = reader.source;
  let order = await getOrder(userId, orderId, reader.db);
  if (!order && source === 'replica') {
    // Not on the replica yet, or not at all: only the primary can say which.
    source = 'primary';
    order = await getOrder(userId, orderId);
  }
  if (!order) throw notFound(`Order ${orderId} does not exist`);
  return json(200, order, { 'x-read-source': source });
}

/** `POST /orders/{orderId}/cancel`: CANCELLED with the stock given back; twice → 409. */
async function cancelMyOrder(event: APIGatewayProxyEvent) {
  const { userId } = identityFrom(event);
  const orderId = pathParameter(event, 'orderId');
  if (!UUID.test(orderId)) throw notFound(`Order ${orderId} does not exist`);
  const order = await answering(() => cancelOrder(userId, orderId));
  metrics.addMetric('OrdersCancelled', MetricUnit.Count, 1);
  await relaySoon();
  return json(200, order, await withToken());
}

/** `PUT /inventory/{productId}` (admin): sets the authoritative stock in Postgres. */
async function putInventory(event: APIGatewayProxyEvent) {
  requireAdmin(event);
  const productId = pathParameter(event, 'productId');
  const { stock } = parseBody(event, SetStockInput);
  if (!(await getProduct(productId, { consistent: true })))
    throw notFound(`Product ${productId} does not exist`);
  const result = await setStock(productId, stock);
  await relaySoon();
  return json(200, { productId: result.productId, stock: result.stock });
}

export const handler = httpHandler(
  routes('orders', {
    'POST /orders': createOrder,
    'GET /orders': listMyOrders,
    'GET /orders/{orderId}': getMyOrder,
    'POST /orders/{orderId}/cancel': cancelMyOrder,
    'PUT /inventory/{productId}': putInventory,
  }),
);
