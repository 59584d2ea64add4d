import {
  createProduct,
  getProduct,
  listProducts,
  ProductListQuery,
  updateProduct,
} from '../../shared/adapters/catalog-table.ts';
import { publish } from '../../shared/adapters/event-publisher.ts';
import { requireAdmin } from '../../shared/auth/identity.ts';
import { GetProductQuery, ProductInput, productUpserted } from '../../shared/domain/catalog.ts';
import { notFound } from '../../shared/http/errors.ts';
import { parseBody, parseQuery, pathParameter } from '../../shared/http/request.ts';
import { json } from '../../shared/http/response.ts';
import { type RouteHandler, routes } from '../../shared/http/router.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';

const noSuchProduct = (productId: string) => notFound(`Product ${productId} does not exist`);

/** `GET /products[?category=&limit=&cursor=]`: one page sorted by name, from an index (never a Scan). */
const list: RouteHandler = async (event) => {
  const query = parseQuery(event, ProductListQuery);
  return json(200, await listProducts(query));
};

/** `GET /products/{productId}[?consistent=true]`: eventually consistent unless asked otherwise. */
const get: RouteHandler = async (event) => {
  const productId = pathParameter(event, 'productId');
  const { consistent } = parseQuery(event, GetProductQuery);
  const product = await getProduct(productId, { consistent });
  if (!product) throw noSuchProduct(productId);
  return json(200, product, { 'x-read-consistency': consistent ? 'strong' : 'eventual' });
};

/** `POST /products` (admin): a new product, announced with ProductUpserted. */
const create: RouteHandler = async (event) => {
  requireAdmin(event);
  const input = parseBody(event, ProductInput);
  const product = await createProduct(input);
  await publish(productUpserted(product));
  return json(201, product);
};

/** `PUT /products/{productId}` (admin): replaces the product's fields, announced with ProductUpserted. */
const replace: RouteHandler = async (event) => {
  requireAdmin(event);
  const productId = pathParameter(event, 'productId');
  const input = parseBody(event, ProductInput);
  const product = await updateProduct(productId, input);
  if (!product) throw noSuchProduct(productId);
  await publish(productUpserted(product));
  return json(200, product);
};

export const handler = httpHandler(
  routes({
    'GET /products': list,
    'POST /products': create,
    'GET /products/{productId}': get,
    'PUT /products/{productId}': replace,
  }),
);
