import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { productKey } from '../../../catalog/adapters/catalog-table.ts';
import { requireEnv } from '../../../config.ts';
import { relayOutbox, setStock } from '../../../orders/adapters/orders-db.ts';
import { postgresPool } from '../../../platform/adapters/postgres.ts';
import { LAB_PRODUCT_PREFIX } from '../../domain/constants.ts';
import type { ResultRow } from '../../domain/report.ts';
import type { RunContext } from '../context.ts';
import { labClient } from '../lab-table.ts';
import { Measurements } from '../measure.ts';

/**
 * projection-lag: the shop's own event path, timed. A lab product (`lab-<experimentId>`) gets a
 * catalog item and an inventory row; each trial sets its stock in Postgres with `setStock` (the row
 * and an InventoryChanged in the outbox, one transaction), relays the outbox to EventBridge as the
 * API handlers do right after a commit, and polls the catalog until the CatalogStockProjection
 * function has written the new `available`. Lag is measured from the commit.
 */

/** A change not visible after this long counts as an error (the event was lost or dead-lettered). */
export const MAX_LAG_MS = 30_000;
const POLL_MS = 2;

/** The lab product of a run. */
export const labProductId = (experimentId: string) => `${LAB_PRODUCT_PREFIX}${experimentId}`;

/**
 * Runs the scenario: `trials` stock changes, one after another.
 *
 * @example
 * const rows = await projectionLag(ctx); // commit, relay, visible to strong and eventual reads
 */
export async function projectionLag(ctx: RunContext): Promise<ResultRow[]> {
  const catalogTable = requireEnv('CATALOG_TABLE');
  const productId = labProductId(ctx.experimentId);
  const key = productKey(productId);
  const commit = new Measurements();
  const relay = new Measurements();
  const strong = new Measurements();
  const eventual = new Measurements();
  const now = new Date().toISOString();
  try {
    // Not in any listing: no index attributes. Nothing available until the first projection.
    await labClient().send(
      new PutCommand({
        TableName: catalogTable,
        Item: {
          ...key,
          productId,
          name: 'Consistency lab product',
          category: 'consistency-lab',
          priceCents: 0,
          currency: 'EUR',
          available: 0,
          version: 1,
          createdAt: now,
          updatedAt: now,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    for (let trial = 1; trial <= ctx.parameters.trials; trial++) {
      if (ctx.deadline.passed) {
        for (const m of [commit, relay, strong, eventual]) m.fail(new Error('deadline passed'));
        continue;
      }
      try {
        const change = await commit.time(() => setStock(productId, trial));
        const committed = performance.now();
        await relayOutbox();
        relay.record(performance.now() - committed);
        await Promise.all(
          (
            [
              [strong, true],
              [eventual, false],
            ] as const
          ).map(([m, consistent]) =>
            waitUntilVisible(catalogTable, key, change, consistent).then(
              (seenAt) => m.record(seenAt - committed),
              (error) => m.fail(error),
            ),
          ),
        );
      } catch (error) {
        commit.fail(error);
      }
    }
  } finally {
    await labClient().send(new DeleteCommand({ TableName: catalogTable, Key: key }));
    await (await postgresPool()).query('delete from inventory where product_id = $1 and product_id like $2', [
      productId,
      `${LAB_PRODUCT_PREFIX}%`,
    ]);
  }
  const operations = ctx.parameters.trials;
  return [
    commit.row({ store: 'postgres', strategy: 'commit (stock + outbox)', operations, anomalies: null }),
    relay.row({ store: 'postgres', strategy: 'outbox relayed to bus', operations, anomalies: null }),
    strong.row({ store: 'dynamodb', strategy: 'visible: GetItem strong', operations, anomalies: null }),
    eventual.row({ store: 'dynamodb', strategy: 'visible: GetItem eventual', operations, anomalies: null }),
  ];
}

/** Polls the catalog item until it shows the change; resolves with the time it was first seen. */
async function waitUntilVisible(
  table: string,
  key: { pk: string; sk: string },
  change: { stock: number; version: number },
  consistent: boolean,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const out = await labClient().send(
      new GetCommand({
        TableName: table,
        Key: key,
        ConsistentRead: consistent,
        ProjectionExpression: 'available, stockVersion',
      }),
    );
    const seenAt = performance.now();
    if (Number(out.Item?.stockVersion) >= change.version) return seenAt;
    if (seenAt - started > MAX_LAG_MS) {
      throw new Error(`stock version ${change.version} not visible after ${MAX_LAG_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
