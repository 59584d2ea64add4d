import { QueryCommand, type QueryCommandOutput, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from '../../config.ts';
import { dynamoDocumentClient } from '../../platform/adapters/aws-clients.ts';
import {
  buildCart,
  type Cart,
  type CartLine,
  CartVersionMismatch,
  canonicalTimestamp,
  cartExpiresAt,
  isExpired,
  linesTakenByOrder,
} from '../domain.ts';
import type { WriteOptions } from '../ports.ts';

/**
 * The carts table's item layout, one item collection per user:
 * - a line: `pk = CART#<userId>`, `sk = ITEM#<productId>`; productId, quantity, priceCents, updatedAt (ISO),
 *   expiresAt (TTL, epoch seconds, 30 days after the line was last set);
 * - the meta item: `pk = CART#<userId>`, `sk = META`; version, updatedAt, expiresAt.
 *
 * Every change of a cart's lines bumps META's `version` in the same transaction, so `version` is the
 * cart's optimistic-concurrency token (`If-Match`). Writes that change nothing (removing an absent line,
 * clearing an empty cart) write nothing and bump nothing. The owner reads with ConsistentRead, so a
 * write is visible to the next read (read-your-writes).
 */
const cartsTable = () => requireEnv('CARTS_TABLE');
const cartPk = (userId: string) => `CART#${userId}`;
const ITEM_PREFIX = 'ITEM#';
const lineSk = (productId: string) => `${ITEM_PREFIX}${productId}`;
const META_SK = 'META';
/** TransactWriteItems takes at most 100 actions. */
const MAX_TRANSACTION_ITEMS = 100;

type Item = Record<string, unknown>;

/** A cart as stored: the live lines, the expired ones DynamoDB has not deleted yet, and the version. */
interface StoredCart {
  lines: CartLine[];
  expiredProductIds: string[];
  version: number;
}

async function readStoredCart(userId: string, now: Date): Promise<StoredCart> {
  const lines: CartLine[] = [];
  const expiredProductIds: string[] = [];
  let version = 0;
  let startKey: Item | undefined;
  do {
    const page: QueryCommandOutput = await dynamoDocumentClient().send(
      new QueryCommand({
        TableName: cartsTable(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': cartPk(userId) },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      if (item.sk === META_SK) {
        version = Number(item.version ?? 0);
      } else if (typeof item.sk === 'string' && item.sk.startsWith(ITEM_PREFIX)) {
        const productId = item.sk.slice(ITEM_PREFIX.length);
        if (isExpired(item.expiresAt, now)) {
          expiredProductIds.push(productId);
          continue;
        }
        lines.push({
          productId,
          quantity: Number(item.quantity),
          priceCents: Number(item.priceCents),
          updatedAt: String(item.updatedAt),
        });
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { lines, expiredProductIds, version };
}

/**
 * The user's cart, read strongly consistent (read-your-writes). Lines past their TTL are left out even
 * before DynamoDB deletes them. An unknown user has the empty cart at version 0.
 */
export async function getCart(userId: string): Promise<Cart> {
  const stored = await readStoredCart(userId, new Date());
  return buildCart(stored.lines, stored.version);
}

/** The META update that bumps the version, conditional on `expectedVersion` when given. */
function bumpVersion(userId: string, now: Date, expectedVersion: number | undefined) {
  const condition =
    expectedVersion === undefined
      ? {}
      : expectedVersion === 0
        ? { ConditionExpression: 'attribute_not_exists(version)' }
        : { ConditionExpression: 'version = :expected' };
  // On a failed condition the cancellation reason carries META as it was: the version to report.
  return {
    Update: {
      TableName: cartsTable(),
      Key: { pk: cartPk(userId), sk: META_SK },
      UpdateExpression:
        'SET version = if_not_exists(version, :zero) + :one, updatedAt = :now, expiresAt = :expiresAt',
      ExpressionAttributeValues: {
        ':zero': 0,
        ':one': 1,
        ':now': now.toISOString(),
        ':expiresAt': cartExpiresAt(now),
        ...(expectedVersion ? { ':expected': expectedVersion } : {}),
      },
      ...condition,
      ...(expectedVersion === undefined ? {} : { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const }),
    },
  };
}

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

interface CancellationReason {
  Code?: string;
  Item?: Record<string, unknown>;
}

/** Why a transaction was cancelled, item by item; `undefined` when the error is not a cancellation. */
function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  return (error as Error & { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
}

/** A version from a cancellation reason's item (raw AttributeValues there: lib-dynamodb leaves errors alone). */
function versionOf(item: Record<string, unknown> | undefined): number | undefined {
  const value = item?.version;
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'N' in value) return Number((value as { N: string }).N);
  return undefined;
}

/**
 * Runs a transaction, retrying (with jittered backoff) when it only lost a race with another transaction
 * on the same items (`TransactionConflict`). A failed condition is not retried: the caller decides.
 */
async function transact(items: TransactItems): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await dynamoDocumentClient().send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (error) {
      const reasons = cancellationReasons(error);
      const conflictOnly =
        reasons?.some((r) => r.Code === 'TransactionConflict') &&
        reasons.every((r) => r.Code === 'TransactionConflict' || r.Code === 'None' || !r.Code);
      if (!conflictOnly || attempt >= 4) throw error;
      await new Promise((resolve) => setTimeout(resolve, (20 + Math.random() * 30) * 2 ** attempt));
    }
  }
}

/** One line's change (a Put or a Delete) and the version bump, in one transaction. */
const changeLine = (
  userId: string,
  now: Date,
  expectedVersion: number | undefined,
  change: TransactItems[number],
) => transact([bumpVersion(userId, now, expectedVersion), change]);

/** Turns a failed META condition (the first item) into a {@link CartVersionMismatch}; rethrows the rest. */
async function mismatchOr(
  error: unknown,
  userId: string,
  expectedVersion: number | undefined,
): Promise<never> {
  const reason = cancellationReasons(error)?.[0];
  if (expectedVersion !== undefined && reason?.Code === 'ConditionalCheckFailed') {
    const current = versionOf(reason.Item) ?? (await getCart(userId)).version;
    throw new CartVersionMismatch(expectedVersion, current);
  }
  throw error;
}

/**
 * Sets a line (adds it or replaces its quantity and price) and bumps the version, in one transaction.
 * Throws {@link CartVersionMismatch} when `expectedVersion` is given and the cart is at another version.
 */
export async function setCartLine(
  userId: string,
  line: Pick<CartLine, 'productId' | 'quantity' | 'priceCents'>,
  { expectedVersion, now = new Date() }: WriteOptions = {},
): Promise<void> {
  const item = {
    pk: cartPk(userId),
    sk: lineSk(line.productId),
    productId: line.productId,
    quantity: line.quantity,
    priceCents: line.priceCents,
    updatedAt: now.toISOString(),
    expiresAt: cartExpiresAt(now),
  };
  try {
    await changeLine(userId, now, expectedVersion, { Put: { TableName: cartsTable(), Item: item } });
  } catch (error) {
    await mismatchOr(error, userId, expectedVersion);
  }
}

/**
 * Removes a line and bumps the version, in one transaction. Removing a line that is not there changes
 * nothing (no version bump) and is not an error, but `expectedVersion` is still checked.
 */
export async function removeCartLine(
  userId: string,
  productId: string,
  { expectedVersion, now = new Date() }: WriteOptions = {},
): Promise<void> {
  try {
    await changeLine(userId, now, expectedVersion, {
      Delete: {
        TableName: cartsTable(),
        Key: { pk: cartPk(userId), sk: lineSk(productId) },
        // A line past its TTL is already gone for readers: removing it is no change either.
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(expiresAt) OR expiresAt > :now)',
        ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
      },
    });
  } catch (error) {
    const reasons = cancellationReasons(error);
    if (reasons?.[1]?.Code === 'ConditionalCheckFailed' && reasons[0]?.Code !== 'ConditionalCheckFailed') {
      // The line is not there: nothing to do, as long as the cart is at the version the caller expects.
      if (expectedVersion === undefined) return;
      const { version } = await getCart(userId);
      if (version !== expectedVersion) throw new CartVersionMismatch(expectedVersion, version);
      return;
    }
    await mismatchOr(error, userId, expectedVersion);
  }
}

/**
 * Removes every line and bumps the version (never resets it: a client holding an old version must not
 * match the emptied cart). An empty cart is left as it is. Up to 99 lines go in one transaction with
 * the version bump; a larger cart is emptied in several (the first one carries the bump and condition).
 */
export async function clearCart(
  userId: string,
  { expectedVersion, now = new Date() }: WriteOptions = {},
): Promise<void> {
  const stored = await readStoredCart(userId, now);
  if (expectedVersion !== undefined && stored.version !== expectedVersion) {
    throw new CartVersionMismatch(expectedVersion, stored.version);
  }
  const productIds = [...stored.lines.map((line) => line.productId), ...stored.expiredProductIds];
  if (productIds.length === 0) return;
  const deletes = productIds.map((productId) => ({
    Delete: { TableName: cartsTable(), Key: { pk: cartPk(userId), sk: lineSk(productId) } },
  }));
  // Lines past their TTL go too, but only removing live lines is a change that bumps the version.
  const bump = stored.lines.length > 0 ? [bumpVersion(userId, now, expectedVersion)] : [];
  const first = deletes.splice(0, MAX_TRANSACTION_ITEMS - bump.length);
  try {
    await transact([...bump, ...first]);
  } catch (error) {
    await mismatchOr(error, userId, expectedVersion);
  }
  while (deletes.length > 0) await transact(deletes.splice(0, MAX_TRANSACTION_ITEMS));
}

/**
 * What an `OrderPlaced` event does to the cart: removes the ordered lines that were last set no later
 * than the order's `createdAt` and bumps the version, in one transaction. Each delete is conditional on
 * `updatedAt <= createdAt`, so a line changed after the order (by a request racing this one) survives.
 * The usual case, every ordered line still there as ordered, costs that one transaction: it is tried
 * first without reading the cart. When a condition fails (a line changed or already gone, a
 * redelivery) nothing was written, and the cart is read to remove what is left, again until no
 * condition fails. A redelivered event finds nothing to remove and writes nothing. Returns the
 * product ids removed.
 */
export async function removeOrderedLines(
  userId: string,
  order: { items: { productId: string }[]; createdAt: string },
  { now = new Date() }: { now?: Date } = {},
): Promise<string[]> {
  const createdAt = canonicalTimestamp(order.createdAt);
  const removeAll = (productIds: string[]) =>
    transact([
      bumpVersion(userId, now, undefined),
      ...productIds.map((productId) => ({
        Delete: {
          TableName: cartsTable(),
          Key: { pk: cartPk(userId), sk: lineSk(productId) },
          ConditionExpression: 'updatedAt <= :createdAt',
          ExpressionAttributeValues: { ':createdAt': createdAt },
        },
      })),
    ]);
  const ordered = [...new Set(order.items.map((item) => item.productId))];
  if (ordered.length > 0 && ordered.length < MAX_TRANSACTION_ITEMS) {
    try {
      await removeAll(ordered);
      return ordered;
    } catch (error) {
      if (!cancellationReasons(error)?.some((r) => r.Code === 'ConditionalCheckFailed')) throw error;
    }
  }
  const removed: string[] = [];
  let failures = 0;
  for (;;) {
    const stored = await readStoredCart(userId, now);
    const taken = linesTakenByOrder(stored.lines, order);
    if (taken.length === 0) return removed;
    const batch = taken.slice(0, MAX_TRANSACTION_ITEMS - 1);
    try {
      await removeAll(batch);
      removed.push(...batch);
      if (batch.length === taken.length) return removed;
    } catch (error) {
      // A line changed (or went) between the read and the write: read again, up to a few times.
      const changed = cancellationReasons(error)?.some((r) => r.Code === 'ConditionalCheckFailed');
      if (!changed || ++failures > 4) throw error;
    }
  }
}
