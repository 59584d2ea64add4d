import { OrderCursor, OrderListQuery } from '../../shared/api/schemas.ts';
import { identityFrom, requireAdmin } from '../../shared/auth/identity.ts';
import {
  consistencyToken,
  idempotencyKey,
  parseBody,
  parseQuery,
  pathParameter,
} from '../../shared/http/request.ts';
import { json } from '../../shared/http/response.ts';
import { httpRoutes } from '../../shared/middleware/http-handler.ts';
import { orderPorts as ports } from '../../shared/orders/adapters/wiring.ts';
import { PlaceOrderInput, SetStockInput } from '../../shared/orders/domain.ts';
import { cancelMyOrder, setInventory } from '../../shared/orders/use-cases/change-orders.ts';
import { checkout } from '../../shared/orders/use-cases/checkout.ts';
import { getMyOrder, listMyOrders } from '../../shared/orders/use-cases/read-orders.ts';

/** Orders. Writes answer with `x-consistency-token`; reads that send it back see those writes. */
export const handler = httpRoutes('orders', {
  /** The caller's cart becomes an order, exactly once per Idempotency-Key (see `checkout`). */
  'POST /orders': async (event) => {
    const { userId } = identityFrom(event);
    const key = idempotencyKey(event, { required: true });
    const input = parseBody(event, PlaceOrderInput);
    const { order, replayed, token } = await checkout(ports, { userId, idempotencyKey: key, input });
    const replay: Record<string, string> = replayed ? { 'idempotent-replayed': 'true' } : {};
    return json(201, order, { ...replay, 'x-consistency-token': token });
  },
  /** The caller's orders, newest first, a page at a time. */
  'GET /orders': async (event) => {
    const { userId } = identityFrom(event);
    const { limit, cursor } = parseQuery(event, OrderListQuery);
    const after = OrderCursor.decode(cursor);
    const page = await listMyOrders(ports, { userId, limit, after, token: consistencyToken(event) });
    const body = { items: page.orders, nextCursor: OrderCursor.encode(page.last) };
    return json(200, body, { 'x-read-source': page.source });
  },
  /** One of the caller's orders: 404 for anyone but the owner. */
  'GET /orders/{orderId}': async (event) => {
    const { userId } = identityFrom(event);
    const orderId = pathParameter(event, 'orderId');
    const { order, source } = await getMyOrder(ports, { userId, orderId, token: consistencyToken(event) });
    return json(200, order, { 'x-read-source': source });
  },
  /** CANCELLED with the stock given back; twice → 409. */
  'POST /orders/{orderId}/cancel': async (event) => {
    const { userId } = identityFrom(event);
    const { order, token } = await cancelMyOrder(ports, { userId, orderId: pathParameter(event, 'orderId') });
    return json(200, order, { 'x-consistency-token': token });
  },
  /** (admin) Sets the authoritative stock in Postgres. */
  'PUT /inventory/{productId}': async (event) => {
    requireAdmin(event);
    const productId = pathParameter(event, 'productId');
    const { stock } = parseBody(event, SetStockInput);
    return json(200, await setInventory(ports, { productId, stock }));
  },
});
