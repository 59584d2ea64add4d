import type { APIGatewayProxyEvent } from 'aws-lambda';
import { identityFrom } from '../../shared/auth/identity.ts';
import { cartPorts } from '../../shared/cart/adapters/wiring.ts';
import {
  type Cart,
  CartLineInput,
  CartProductId,
  IfMatchVersion,
  toCartView,
  versionEtag,
} from '../../shared/cart/domain.ts';
import { emptyCart, removeLine, setLine, viewCart } from '../../shared/cart/use-cases/edit-cart.ts';
import { parseBody, parseHeader, pathParameter } from '../../shared/http/request.ts';
import { json, noContent } from '../../shared/http/response.ts';
import { httpRoutes } from '../../shared/middleware/http-handler.ts';

/** Whose cart, and the version the write expects: `If-Match: <version>` (bare or quoted), else 400. */
const cartWrite = (event: APIGatewayProxyEvent) => ({
  userId: identityFrom(event).userId,
  expectedVersion: parseHeader(event, 'If-Match', IfMatchVersion),
});

/** A write of one line: the caller, the product id from the path (1–64 characters, else 400), If-Match. */
const lineWrite = (event: APIGatewayProxyEvent) => {
  const { userId } = identityFrom(event);
  const productId = pathParameter(event, 'productId', CartProductId);
  return { userId, productId, expectedVersion: parseHeader(event, 'If-Match', IfMatchVersion) };
};

/** The cart as the API shows it, its version as the ETag (what `If-Match` sends back). */
const cartResponse = (cart: Cart) => json(200, toCartView(cart), { etag: versionEtag(cart.version) });

/**
 * The cart service: `GET /cart`, `PUT /cart/items/{productId}`, `DELETE /cart/items/{productId}` and
 * `DELETE /cart`, for the caller's own cart (the token's `sub`). Writes take `If-Match: <version>`;
 * a cart at another version answers 412 naming the current one (`CartVersionMismatch`).
 */
export const handler = httpRoutes('cart', {
  'GET /cart': async (event) => cartResponse(await viewCart(cartPorts, identityFrom(event).userId)),

  'PUT /cart/items/{productId}': async (event) => {
    const write = lineWrite(event);
    const { quantity } = parseBody(event, CartLineInput);
    return cartResponse(await setLine(cartPorts, { ...write, quantity }));
  },

  'DELETE /cart/items/{productId}': async (event) =>
    cartResponse(await removeLine(cartPorts, lineWrite(event))),

  'DELETE /cart': async (event) => {
    await emptyCart(cartPorts, cartWrite(event));
    return noContent();
  },
});
