import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { HttpError } from './errors.ts';

export type RouteHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Dispatches a proxy event by its method and resource template (`GET /products/{productId}`), so one
 * function can serve a service's routes while each route stays a small function.
 *
 * @example
 * export const handler = httpHandler(routes({ 'GET /cart': getCart, 'DELETE /cart': clearCart }));
 */
export function routes(table: Record<string, RouteHandler>): RouteHandler {
  return async (event, context) => {
    const route = table[`${event.httpMethod} ${event.resource}`];
    if (!route) throw new HttpError(404, 'NOT_FOUND', `No route ${event.httpMethod} ${event.resource}`);
    return route(event, context);
  };
}
