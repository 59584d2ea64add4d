import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { type HandlerId, type RouteKey, routeKey, routesOf } from '../api/routes.ts';
import { HttpError } from './errors.ts';

export type RouteHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** The routes each loaded handler serves, by handler id (what `test/unit/route-manifest.test.ts` compares). */
export const servedRoutes = new Map<HandlerId, string[]>();

/**
 * Dispatches a proxy event by its method and resource template (`GET /products/{productId}`), so one
 * function can serve a service's routes while each route stays a small function. The table must
 * hold exactly the routes the manifest (`shared/api/routes.ts`) gives `handlerId`: the type says
 * so, and the function refuses to load otherwise.
 *
 * @example
 * export const handler = httpHandler(routes('cart', { 'GET /cart': getCart, 'DELETE /cart': clearCart, … }));
 */
export function routes<H extends HandlerId>(
  handlerId: H,
  table: NoInfer<Record<RouteKey<H>, RouteHandler>>,
): RouteHandler {
  const expected = routesOf(handlerId).map(routeKey).sort();
  const served = Object.keys(table).sort();
  if (expected.join('\n') !== served.join('\n')) {
    throw new Error(
      `Handler ${handlerId} serves [${served.join(', ')}] but the route manifest lists [${expected.join(', ')}]`,
    );
  }
  servedRoutes.set(handlerId, served);
  const byKey: Record<string, RouteHandler> = table;
  return async (event, context) => {
    const route = byKey[`${event.httpMethod} ${event.resource}`];
    if (!route) throw new HttpError(404, 'NOT_FOUND', `No route ${event.httpMethod} ${event.resource}`);
    return route(event, context);
  };
}
