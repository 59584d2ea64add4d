import { requireAdmin } from '../../shared/auth/identity.ts';
import { ProductListQuery } from '../../shared/catalog/adapters/catalog-table.ts';
import { catalogPorts } from '../../shared/catalog/adapters/wiring.ts';
import { GetProductQuery, ProductInput } from '../../shared/catalog/domain.ts';
import { addProduct } from '../../shared/catalog/use-cases/add-product.ts';
import { browseCatalog, showProduct } from '../../shared/catalog/use-cases/read-catalog.ts';
import { replaceProduct } from '../../shared/catalog/use-cases/replace-product.ts';
import { idempotencyKey, parseBody, parseQuery, pathParameter } from '../../shared/http/request.ts';
import { json } from '../../shared/http/response.ts';
import type { RouteHandler } from '../../shared/http/router.ts';
import { httpRoutes } from '../../shared/middleware/http-handler.ts';

/** `GET /products[?category=&limit=&cursor=]`: one page sorted by name, from an index (never a Scan). */
const list: RouteHandler = async (event) =>
  json(200, await browseCatalog(catalogPorts(), parseQuery(event, ProductListQuery)));

/** `GET /products/{productId}[?consistent=true]`: eventually consistent unless asked otherwise. */
const get: RouteHandler = async (event) => {
  const productId = pathParameter(event, 'productId');
  const { consistent } = parseQuery(event, GetProductQuery);
  const product = await showProduct(catalogPorts(), { productId, consistent });
  return json(200, product, { 'x-read-consistency': consistent ? 'strong' : 'eventual' });
};

/**
 * `POST /products` (admin): a new product, announced with ProductUpserted. With an `Idempotency-Key`
 * a retry gets the product the first request created (another body: 422; still running: 409).
 */
const create: RouteHandler = async (event, context) => {
  const { userId } = requireAdmin(event);
  const input = parseBody(event, ProductInput);
  const key = idempotencyKey(event, { required: false });
  return json(201, await addProduct(catalogPorts(context), { userId, key, input }));
};

/** `PUT /products/{productId}` (admin): replaces the product's fields, announced with ProductUpserted. */
const replace: RouteHandler = async (event) => {
  requireAdmin(event);
  const productId = pathParameter(event, 'productId');
  const input = parseBody(event, ProductInput);
  return json(200, await replaceProduct(catalogPorts(), { productId, input }));
};

export const handler = httpRoutes('catalog', {
  'GET /products': list,
  'POST /products': create,
  'GET /products/{productId}': get,
  'PUT /products/{productId}': replace,
});
