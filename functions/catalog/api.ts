import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { requireAdmin } from '../../shared/auth/identity.ts';
import {
  createProduct,
  getProduct,
  listProducts,
  ProductListQuery,
  relayCatalogOutbox,
  updateProduct,
} from '../../shared/catalog/adapters/catalog-table.ts';
import {
  GetProductQuery,
  ProductInput,
  productIdFor,
  productRequestHash,
  productUpserted,
} from '../../shared/catalog/domain.ts';
import { requireEnv } from '../../shared/config.ts';
import { HttpError, notFound } from '../../shared/http/errors.ts';
import { idempotencyKey, parseBody, parseQuery, pathParameter } from '../../shared/http/request.ts';
import { json } from '../../shared/http/response.ts';
import { type RouteHandler, routes } from '../../shared/http/router.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';
import { dynamoClient } from '../../shared/platform/adapters/aws-clients.ts';
import { publish, relayAfterCommit } from '../../shared/platform/adapters/event-publisher.ts';

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

const keyReused = () =>
  new HttpError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request body');

/**
 * Creates the product and its event in one write (a transactional outbox item) and relays the event.
 * Under an Idempotency-Key the product's id comes from the caller and key, so a retry finds the
 * product the first attempt created, even if that attempt failed after writing it.
 */
async function createAndAnnounce(input: ProductInput, idempotency?: { userId: string; key: string }) {
  const requestHash = productRequestHash(input);
  const result = await createProduct(
    input,
    idempotency ? { productId: productIdFor(idempotency.userId, idempotency.key), requestHash } : {},
  );
  if (!result.created && result.requestHash !== requestHash) throw keyReused();
  await relayAfterCommit(() => relayCatalogOutbox());
  return result.product;
}

/**
 * With an `Idempotency-Key`, a retried POST (say, after a timeout) returns the product the first one
 * created instead of creating another: Powertools idempotency records the result in the Idempotency
 * table for an hour, keyed by caller and key (a concurrent duplicate gets 409); another body under
 * the same key is refused. Behind it, the product id derived from caller and key makes the create
 * itself happen once, however long ago and however the first attempt ended.
 */
const idempotencyConfig = new IdempotencyConfig({
  eventKeyJmesPath: '[userId, key]',
  payloadValidationJmesPath: 'input',
  expiresAfterSeconds: 3600,
});
const createOnce = makeIdempotent(
  async (request: { userId: string; key: string; input: ProductInput }) =>
    createAndAnnounce(request.input, request),
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: requireEnv('IDEMPOTENCY_TABLE'),
      awsSdkV3Client: dynamoClient(),
    }),
    config: idempotencyConfig,
  },
);

/** `POST /products` (admin): a new product, announced with ProductUpserted. */
const create: RouteHandler = async (event, context) => {
  const { userId } = requireAdmin(event);
  const input = parseBody(event, ProductInput);
  const key = idempotencyKey(event, { required: false });
  if (key === undefined) return json(201, await createAndAnnounce(input));
  // An in-progress record then expires with this invocation: a retry after a crash is not blocked for an hour.
  idempotencyConfig.registerLambdaContext(context);
  try {
    return json(201, await createOnce({ userId, key, input }));
  } catch (error) {
    if (error instanceof IdempotencyValidationError) throw keyReused();
    if (error instanceof IdempotencyAlreadyInProgressError) {
      throw new HttpError(
        409,
        'REQUEST_IN_PROGRESS',
        'A request with this Idempotency-Key is still running; retry shortly',
      );
    }
    throw error;
  }
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
  routes('catalog', {
    'GET /products': list,
    'POST /products': create,
    'GET /products/{productId}': get,
    'PUT /products/{productId}': replace,
  }),
);
