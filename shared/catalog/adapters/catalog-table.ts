import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { buildEvent } from '../../../events/schemas.ts';
import { requireEnv } from '../../config.ts';
import { encodeCursor as encodeWire, readCursor } from '../../http/cursor.ts';
import { dynamoDocumentClient } from '../../platform/adapters/aws-clients.ts';
import { type BuiltEvent, publishEvents } from '../../platform/adapters/event-publisher.ts';
import {
  ListProductsQuery,
  MAX_PRODUCT_ID_LENGTH,
  type Product,
  type ProductInput,
  type ProductPage,
  productUpserted,
} from '../domain.ts';
import type { CreateResult } from '../ports.ts';

/**
 * The catalog table's item layout:
 * `pk = PRODUCT#<id>`, `sk = PRODUCT`; GSI `byCategory` (`gsi1pk = CATEGORY#<category>`,
 * `gsi1sk = <lowercase name>#<id>`) and GSI `byType` (`gsi2pk = PRODUCT`, same sort key).
 * `stockVersion` is the inventory version `available` was projected from.
 */
export const productKey = (productId: string) => ({ pk: `PRODUCT#${productId}`, sk: 'PRODUCT' });

const ITEM_TYPE = 'PRODUCT';
const catalogTable = () => requireEnv('CATALOG_TABLE');

/** The sort key of both indexes: listings come out by name (case-insensitively), ties by id. */
const nameSortKey = (name: string, productId: string) => `${name.toLowerCase()}#${productId}`;

/** A write whose condition did not hold (by name too, in case two copies of the SDK meet). */
const isConditionFailure = (error: unknown): error is ConditionalCheckFailedException =>
  error instanceof ConditionalCheckFailedException ||
  (error instanceof Error && error.name === 'ConditionalCheckFailedException');

/** Strips the table's key and index attributes from an item. */
export function toProduct(item: Record<string, unknown>): Product {
  const {
    pk: _pk,
    sk: _sk,
    type: _type,
    gsi1pk: _a,
    gsi1sk: _b,
    gsi2pk: _c,
    gsi2sk: _d,
    stockVersion: _e,
    requestHash: _f,
    ...product
  } = item;
  return product as unknown as Product;
}

/** One product; `consistent` asks DynamoDB for a strongly consistent read (twice the read cost). */
export async function getProduct(
  productId: string,
  options: { consistent: boolean },
): Promise<Product | undefined> {
  // Longer ids were never created, and a key over DynamoDB's size limit would fail the read.
  if (productId.length > MAX_PRODUCT_ID_LENGTH) return undefined;
  const out = await dynamoDocumentClient().send(
    new GetCommand({
      TableName: catalogTable(),
      Key: productKey(productId),
      ConsistentRead: options.consistent,
    }),
  );
  return out.Item ? toProduct(out.Item) : undefined;
}

/**
 * Several products with strongly consistent reads (BatchGetItem, 100 keys per call, unprocessed keys
 * retried): what checkout prices an order from.
 */
export async function getProductsConsistent(productIds: string[]): Promise<Map<string, Product>> {
  const found = new Map<string, Product>();
  const unique = [...new Set(productIds)];
  for (let i = 0; i < unique.length; i += 100) {
    let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map(productKey);
    for (let attempt = 0; keys?.length && attempt < 5; attempt++) {
      const out: BatchGetCommandOutput = await dynamoDocumentClient().send(
        new BatchGetCommand({ RequestItems: { [catalogTable()]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[catalogTable()] ?? []) {
        const product = toProduct(item);
        found.set(product.productId, product);
      }
      keys = out.UnprocessedKeys?.[catalogTable()]?.Keys;
      if (keys?.length) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    }
    if (keys?.length) throw new Error(`Catalog read throttled: ${keys.length} products unread`);
  }
  return found;
}

/** The index attributes of a product: which listings it appears in, and where. */
function indexAttributes(productId: string, input: Pick<ProductInput, 'name' | 'category'>) {
  const sortKey = nameSortKey(input.name, productId);
  return {
    gsi1pk: `CATEGORY#${input.category}`,
    gsi1sk: sortKey,
    gsi2pk: ITEM_TYPE,
    gsi2sk: sortKey,
  };
}

/** The catalog's outbox: `pk = OUTBOX`, `sk = <time>#<eventId>`, the event as it will be sent. */
const OUTBOX_PK = 'OUTBOX';

const outboxPut = (event: BuiltEvent, at: string) => ({
  Put: {
    TableName: catalogTable(),
    Item: { pk: OUTBOX_PK, sk: `${at}#${event.detail.eventId}`, event },
  },
});

/**
 * Creates a product (version 1, nothing available until the inventory says so) and its
 * `ProductUpserted` event in one transaction: the product and an outbox item, both or neither, so
 * the event cannot be lost once the product exists; {@link relayCatalogOutbox} sends it.
 *
 * With a `productId` (derived from the caller's Idempotency-Key) the write is conditional on the id
 * being free; when it is taken, nothing is written and the existing product is returned with the
 * `requestHash` it was created with, so a retry gets the first product, however the first attempt
 * ended.
 *
 * @example
 * const { product } = await createProduct(input);
 */
export async function createProduct(
  input: ProductInput,
  options: { productId?: string; requestHash?: string; now?: Date } = {},
): Promise<CreateResult> {
  const productId = options.productId ?? crypto.randomUUID();
  const timestamp = (options.now ?? new Date()).toISOString();
  const product: Product = {
    productId,
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    category: input.category,
    priceCents: input.priceCents,
    currency: input.currency,
    available: 0,
    version: 1,
    createdAt: timestamp,
    updatedAt: timestamp,
  };
  try {
    await dynamoDocumentClient().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: catalogTable(),
              Item: {
                ...productKey(productId),
                ...indexAttributes(productId, input),
                ...product,
                ...(options.requestHash ? { requestHash: options.requestHash } : {}),
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          outboxPut(buildEvent(productUpserted(product)), timestamp),
        ],
      }),
    );
    return { product, created: true };
  } catch (error) {
    const takenId =
      (error instanceof TransactionCanceledException ||
        (error as Error).name === 'TransactionCanceledException') &&
      (error as TransactionCanceledException).CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed';
    if (!takenId) throw error;
    const existing = await dynamoDocumentClient().send(
      new GetCommand({ TableName: catalogTable(), Key: productKey(productId), ConsistentRead: true }),
    );
    if (!existing.Item) throw error;
    return {
      product: toProduct(existing.Item),
      created: false,
      requestHash: existing.Item.requestHash as string | undefined,
    };
  }
}

/**
 * Sends the catalog's outbox events, oldest first, and deletes each batch once EventBridge took it.
 * At-least-once: a crash between the two sends a batch again (consumers apply a product `version`
 * once). Run right after a write and every minute by the scheduled relay. Returns how many it sent.
 *
 * @example
 * await relayCatalogOutbox();
 */
export async function relayCatalogOutbox(
  options: { limit?: number; publish?: (events: BuiltEvent[]) => Promise<void> } = {},
): Promise<number> {
  const publish = options.publish ?? ((events: BuiltEvent[]) => publishEvents(events));
  const out = await dynamoDocumentClient().send(
    new QueryCommand({
      TableName: catalogTable(),
      KeyConditionExpression: 'pk = :outbox',
      ExpressionAttributeValues: { ':outbox': OUTBOX_PK },
      ConsistentRead: true,
      Limit: options.limit ?? 25,
    }),
  );
  const items = out.Items ?? [];
  if (!items.length) return 0;
  await publish(items.map((item) => item.event as BuiltEvent));
  await dynamoDocumentClient().send(
    new BatchWriteCommand({
      RequestItems: {
        [catalogTable()]: items.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
      },
    }),
  );
  return items.length;
}

/**
 * Replaces a product's own fields (a missing description is removed) and bumps its version, leaving
 * `available`, `stockVersion` and `createdAt` alone. Undefined when there is no such product: the
 * update is conditional on the item existing, so it never creates a half product.
 */
export async function updateProduct(
  productId: string,
  input: ProductInput,
  now = new Date(),
): Promise<Product | undefined> {
  if (productId.length > MAX_PRODUCT_ID_LENGTH) return undefined;
  const values: Record<string, unknown> = {
    name: input.name,
    category: input.category,
    priceCents: input.priceCents,
    currency: input.currency,
    updatedAt: now.toISOString(),
    ...indexAttributes(productId, input),
  };
  const names: Record<string, string> = { '#pk': 'pk', '#version': 'version' };
  const attributeValues: Record<string, unknown> = { ':zero': 0, ':one': 1 };
  const sets = ['#version = if_not_exists(#version, :zero) + :one'];
  for (const [field, value] of Object.entries(values)) {
    names[`#${field}`] = field;
    attributeValues[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  names['#description'] = 'description';
  let expression: string;
  if (input.description === undefined) {
    expression = `SET ${sets.join(', ')} REMOVE #description`;
  } else {
    attributeValues[':description'] = input.description;
    expression = `SET ${sets.join(', ')}, #description = :description`;
  }
  try {
    const out = await dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: catalogTable(),
        Key: productKey(productId),
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: attributeValues,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes ? toProduct(out.Attributes) : undefined;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Listings: a Query on an index, never a Scan; pages continue after an opaque cursor.            */
/* ---------------------------------------------------------------------------------------------- */

/** A listing: all products (`byType`) or one category's (`byCategory`), both sorted by name. */
interface Listing {
  indexName: 'byCategory' | 'byType';
  partitionKeyName: 'gsi1pk' | 'gsi2pk';
  sortKeyName: 'gsi1sk' | 'gsi2sk';
  partitionKeyValue: string;
}

function listingOf(category: string | undefined): Listing {
  return category === undefined
    ? { indexName: 'byType', partitionKeyName: 'gsi2pk', sortKeyName: 'gsi2sk', partitionKeyValue: ITEM_TYPE }
    : {
        indexName: 'byCategory',
        partitionKeyName: 'gsi1pk',
        sortKeyName: 'gsi1sk',
        partitionKeyValue: `CATEGORY#${category}`,
      };
}

/** Where a page of an index Query stops: the table key plus the index key (DynamoDB's LastEvaluatedKey). */
export type ListingKey = Record<string, string>;

/** The cursor a client gets back: the LastEvaluatedKey as base64url JSON. Opaque to clients. */
export const encodeCursor = (key: ListingKey): string => encodeWire(key);

/**
 * The key a cursor stands for, if it is one this listing (`category`, or all products) could have
 * handed out: exactly the table and index key attributes, all strings, naming the same product in
 * both. Undefined for anything else (not base64url JSON, another shape, another index or category),
 * so a tampered cursor is a client error rather than a DynamoDB ValidationException.
 */
export function decodeCursor(cursor: string, category?: string): ListingKey | undefined {
  const decoded = readCursor(cursor);
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return undefined;
  const key = decoded as Record<string, unknown>;
  const listing = listingOf(category);
  const expected = ['pk', 'sk', listing.partitionKeyName, listing.sortKeyName].sort();
  const actual = Object.keys(key).sort();
  if (actual.length !== expected.length || actual.some((name, i) => name !== expected[i])) return undefined;
  if (!Object.values(key).every((value) => typeof value === 'string')) return undefined;
  const { pk, sk } = key as Record<string, string>;
  const productId = pk?.startsWith('PRODUCT#') ? pk.slice('PRODUCT#'.length) : '';
  if (productId === '' || productId.length > MAX_PRODUCT_ID_LENGTH || sk !== 'PRODUCT') return undefined;
  if (key[listing.partitionKeyName] !== listing.partitionKeyValue) return undefined;
  const sortKey = key[listing.sortKeyName] as string;
  if (!sortKey.endsWith(`#${productId}`) || sortKey.length > 1024) return undefined;
  return key as ListingKey;
}

/**
 * The list query with its cursor decoded into the key to continue after: parse it with `parseQuery`
 * and a cursor that does not belong to this listing is a 400 naming `query.cursor`.
 */
export const ProductListQuery = ListProductsQuery.transform((query, ctx) => {
  if (query.cursor === undefined) return { ...query, startKey: undefined };
  const startKey = decodeCursor(query.cursor, query.category);
  if (!startKey) {
    ctx.addIssue({
      code: 'custom',
      path: ['cursor'],
      message: query.category
        ? `is not a cursor of category ${query.category}`
        : 'is not a cursor of the product listing',
    });
    return z.NEVER;
  }
  return { ...query, startKey };
});
export type ProductListQuery = z.infer<typeof ProductListQuery>;

/**
 * One page of products sorted by name, from the `byCategory` index when a category is given, else
 * from `byType`. It reads one item more than asked, so the last page says so (`nextCursor: null`)
 * instead of leaving the client an empty page to fetch.
 */
export async function listProducts(query: {
  category?: string;
  limit: number;
  startKey?: ListingKey;
}): Promise<ProductPage> {
  const listing = listingOf(query.category);
  const out = await dynamoDocumentClient().send(
    new QueryCommand({
      TableName: catalogTable(),
      IndexName: listing.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': listing.partitionKeyName },
      ExpressionAttributeValues: { ':pk': listing.partitionKeyValue },
      Limit: query.limit + 1,
      ExclusiveStartKey: query.startKey,
    }),
  );
  const found = out.Items ?? [];
  const items = found.slice(0, query.limit);
  let next: Record<string, unknown> | undefined;
  if (found.length > query.limit) {
    const last = items[items.length - 1] as Record<string, unknown>;
    next = Object.fromEntries(
      ['pk', 'sk', listing.partitionKeyName, listing.sortKeyName].map((name) => [name, last[name]]),
    );
  } else {
    // Fewer than asked yet a LastEvaluatedKey: DynamoDB stopped at its 1 MB page size.
    next = out.LastEvaluatedKey;
  }
  return { items: items.map(toProduct), nextCursor: next ? encodeCursor(next as ListingKey) : null };
}

/* ---------------------------------------------------------------------------------------------- */
/* The stock projection.                                                                           */
/* ---------------------------------------------------------------------------------------------- */

export type StockProjectionResult =
  | { outcome: 'applied' }
  /** The product already shows this inventory version or a newer one (a redelivery, or out of order). */
  | { outcome: 'stale'; currentVersion: number | undefined }
  /** No such product in the catalog. */
  | { outcome: 'unknown-product' };

/**
 * Projects an inventory change onto `available`, unless the product is unknown or already shows
 * this or a later inventory version: one conditional UpdateItem, so redelivered and out-of-order
 * events change nothing and concurrent deliveries cannot overtake each other.
 */
export async function applyStockChange(change: {
  productId: string;
  stock: number;
  version: number;
}): Promise<StockProjectionResult> {
  try {
    await dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: catalogTable(),
        Key: productKey(change.productId),
        UpdateExpression: 'SET available = :stock, stockVersion = :version',
        ConditionExpression:
          'attribute_exists(pk) AND (attribute_not_exists(stockVersion) OR stockVersion < :version)',
        ExpressionAttributeValues: { ':stock': change.stock, ':version': change.version },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { outcome: 'applied' };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // The failed condition returns the item as it is (raw attribute values), or nothing if there is none.
    const item = error.Item as Record<string, { N?: string }> | undefined;
    if (!item || Object.keys(item).length === 0) return { outcome: 'unknown-product' };
    const current = item.stockVersion?.N;
    return { outcome: 'stale', currentVersion: current === undefined ? undefined : Number(current) };
  }
}
