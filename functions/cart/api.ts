import type { APIGatewayProxyEvent } from 'aws-lambda';
import { identityFrom } from '../../shared/auth/identity.ts';
import { clearCart, getCart, removeCartLine, setCartLine } from '../../shared/cart/adapters/cart-table.ts';
import {
  type Cart,
  CartLineInput,
  CartProductId,
  CartVersionMismatch,
  parseVersionHeader,
  toCartView,
  versionEtag,
} from '../../shared/cart/domain.ts';
import { getProduct } from '../../shared/catalog/adapters/catalog-table.ts';
import { badRequest, HttpError, notFound } from '../../shared/http/errors.ts';
import { header, parseBody, pathParameter } from '../../shared/http/request.ts';
import { json, noContent } from '../../shared/http/response.ts';
import { routes } from '../../shared/http/router.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';

/** The product id from the path: 1–64 characters, else 400 naming `path.productId`. */
function productIdFrom(event: APIGatewayProxyEvent): string {
  const productId = pathParameter(event, 'productId');
  if (!CartProductId.safeParse(productId).success) {
    throw badRequest('The product id is invalid', [
      { path: 'path.productId', message: 'must be 1 to 64 characters' },
    ]);
  }
  return productId;
}

/** `If-Match: <version>` (bare or quoted), else `undefined`; anything else is a 400 naming `header.If-Match`. */
function expectedVersionFrom(event: APIGatewayProxyEvent): number | undefined {
  const expected = parseVersionHeader(header(event, 'If-Match'));
  if (expected === null) {
    throw badRequest('If-Match must be a cart version', [
      { path: 'header.If-Match', message: 'must be a non-negative integer cart version, e.g. 3 or "3"' },
    ]);
  }
  return expected;
}

/** Runs a conditional write; a version mismatch becomes 412 PRECONDITION_FAILED naming the current version. */
async function conditionally(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!(error instanceof CartVersionMismatch)) throw error;
    throw new HttpError(
      412,
      'PRECONDITION_FAILED',
      `The cart changed: it is at version ${error.current}, not ${error.expected}`,
      [{ path: 'header.If-Match', message: `the current version is ${error.current}` }],
    );
  }
}

const cartResponse = (cart: Cart) => json(200, toCartView(cart), { etag: versionEtag(cart.version) });

/**
 * The cart service: `GET /cart`, `PUT /cart/items/{productId}`, `DELETE /cart/items/{productId}` and
 * `DELETE /cart`, for the caller's own cart (the token's `sub`). Writes take `If-Match: <version>`.
 */
export const handler = httpHandler(
  routes('cart', {
    'GET /cart': async (event) => cartResponse(await getCart(identityFrom(event).userId)),

    'PUT /cart/items/{productId}': async (event) => {
      const { userId } = identityFrom(event);
      const productId = productIdFrom(event);
      const expectedVersion = expectedVersionFrom(event);
      const { quantity } = parseBody(event, CartLineInput);
      const product = await getProduct(productId, { consistent: true });
      if (!product) throw notFound(`Product ${productId} does not exist`);
      await conditionally(() =>
        setCartLine(userId, { productId, quantity, priceCents: product.priceCents }, { expectedVersion }),
      );
      return cartResponse(await getCart(userId));
    },

    'DELETE /cart/items/{productId}': async (event) => {
      const { userId } = identityFrom(event);
      const productId = productIdFrom(event);
      const expectedVersion = expectedVersionFrom(event);
      await conditionally(() => removeCartLine(userId, productId, { expectedVersion }));
      return cartResponse(await getCart(userId));
    },

    'DELETE /cart': async (event) => {
      const { userId } = identityFrom(event);
      const expectedVersion = expectedVersionFrom(event);
      await conditionally(() => clearCart(userId, { expectedVersion }));
      return noContent();
    },
  }),
);
