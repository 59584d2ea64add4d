/**
 * What the two-store race scenarios (lost-update, oversell) share: measured DynamoDB calls on lab
 * items, one strategy after another on both stores, and trials on a fresh item or row each.
 *
 * @module
 */
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { retryOnConflict, think } from '../../domain/concurrency.ts';
import type { ResultRow } from '../../domain/report.ts';
import { type RunContext, warmUpDynamoDB } from '../context.ts';
import { inTransaction, isSerializationFailure, withConnections } from '../lab-db.ts';
import { isConditionFailure, type LabKey, labClient, labExpiry, labTable } from '../lab-table.ts';
import { Measurements } from '../measure.ts';

/** An update expression on one item, with its condition and values. */
export interface ItemUpdate {
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeValues: Record<string, unknown>;
}

/** A strongly consistent GetItem of a lab item (`{}` when absent), its read capacity counted. */
export async function consistentGet(key: LabKey, m: Measurements): Promise<Record<string, unknown>> {
  const out = await labClient().send(
    new GetCommand({
      TableName: labTable(),
      Key: key,
      ConsistentRead: true,
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  m.capacity(out.ConsumedCapacity, 'read');
  return out.Item ?? {};
}

/** An UpdateItem of a lab item, its write capacity counted. */
export async function updateItem(m: Measurements, key: LabKey, update: ItemUpdate): Promise<void> {
  const out = await labClient().send(
    new UpdateCommand({ TableName: labTable(), Key: key, ...update, ReturnConsumedCapacity: 'TOTAL' }),
  );
  m.capacity(out.ConsumedCapacity, 'write');
}

/**
 * Optimistic locking: reads the item and, unless `decide` gives an outcome without a write, thinks
 * and sets `attribute` to its new value on condition that the version is still the one read;
 * retried (counted in `m.retries`) when another writer got there first.
 */
export function optimisticUpdate<T>(
  m: Measurements,
  key: LabKey,
  thinkMs: number,
  decide: (
    item: Record<string, unknown>,
  ) => { set: [attribute: string, value: number]; outcome: T } | { outcome: T },
): Promise<T> {
  return retryOnConflict(
    async () => {
      const item = await consistentGet(key, m);
      const decision = decide(item);
      if (!('set' in decision)) return decision.outcome;
      await think(thinkMs);
      const [attribute, value] = decision.set;
      await updateItem(m, key, {
        UpdateExpression: `SET ${attribute} = :value, version = :next`,
        ConditionExpression: 'version = :seen',
        ExpressionAttributeValues: {
          ':value': value,
          ':seen': Number(item.version),
          ':next': Number(item.version) + 1,
        },
      });
      return decision.outcome;
    },
    isConditionFailure,
    () => m.retries++,
  );
}

/**
 * TransactWriteItems: `update` on the item at `key` and a new item at `record` (an order, a ledger
 * line), all or nothing; its write capacity counted.
 */
export async function updateWithRecord(
  m: Measurements,
  key: LabKey,
  update: ItemUpdate,
  record: LabKey,
): Promise<void> {
  const TableName = labTable();
  const out = await labClient().send(
    new TransactWriteCommand({
      TransactItems: [
        { Update: { TableName, Key: key, ...update } },
        {
          Put: {
            TableName,
            Item: { ...record, expiresAt: labExpiry() },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  m.capacity(out.ConsumedCapacity, 'write');
}

/**
 * A scenario's rows: each DynamoDB strategy, then each Postgres one, one after another; the `slug`
 * (`s0`, `s1`, …) keeps their keys apart.
 */
export async function eachStrategy<D, P>(
  strategies: { dynamodb: readonly D[]; postgres: readonly P[] },
  run: {
    dynamodb: (slug: string, strategy: D) => Promise<ResultRow>;
    postgres: (slug: string, strategy: P) => Promise<ResultRow>;
  },
): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const [index, strategy] of strategies.dynamodb.entries())
    rows.push(await run.dynamodb(`s${index}`, strategy));
  for (const [index, strategy] of strategies.postgres.entries())
    rows.push(await run.postgres(`s${index}`, strategy));
  return rows;
}

/**
 * One measured operation of a worker: `{ value }` when it succeeded; undefined when it failed or the
 * deadline had passed (both counted as failures).
 */
export async function measured<T>(
  ctx: RunContext,
  m: Measurements,
  operation: () => Promise<T>,
): Promise<{ value: T } | undefined> {
  if (ctx.deadline.passed) {
    m.fail(new Error('deadline passed'));
    return undefined;
  }
  try {
    return { value: await m.time(operation) };
  } catch (error) {
    m.fail(error);
    return undefined;
  }
}

/**
 * One DynamoDB strategy's row: `trials` trials, each on a fresh item (`initial` plus `version: 0`),
 * the anomalies of each added up.
 */
export async function dynamoTrials(
  ctx: RunContext,
  row: { scenario: string; slug: string; strategy: string; operations: number },
  initial: Record<string, number>,
  trial: (m: Measurements, key: LabKey, trial: number) => Promise<number>,
): Promise<ResultRow> {
  const m = new Measurements();
  let anomalies = 0;
  await warmUpDynamoDB(ctx);
  for (let n = 0; n < ctx.parameters.trials; n++) {
    const key = ctx.keys.key(row.scenario, row.slug, n);
    await labClient().send(
      new PutCommand({
        TableName: labTable(),
        Item: { ...key, ...initial, version: 0, expiresAt: labExpiry() },
      }),
    );
    anomalies += await trial(m, key, n);
  }
  return m.row({ store: 'dynamodb', strategy: row.strategy, operations: row.operations, anomalies });
}

/**
 * One Postgres strategy's row: `trials` trials, each on a fresh row (`insert` makes it) with one
 * connection per worker, the anomalies of each added up.
 */
export async function postgresTrials(
  ctx: RunContext,
  row: { scenario: string; slug: string; strategy: string; operations: number },
  insert: (db: pg.Pool, id: string) => Promise<unknown>,
  trial: (m: Measurements, clients: pg.PoolClient[], id: string, db: pg.Pool) => Promise<number>,
): Promise<ResultRow> {
  const db = await ctx.pool();
  const m = new Measurements();
  let anomalies = 0;
  for (let n = 0; n < ctx.parameters.trials; n++) {
    const id = `${ctx.experimentId}:${row.scenario}:${row.slug}:${n}`;
    await insert(db, id);
    anomalies += await withConnections(db, ctx.parameters.concurrency, (clients) =>
      trial(m, clients, id, db),
    );
  }
  return m.row({ store: 'postgres', strategy: row.strategy, operations: row.operations, anomalies });
}

/** A Postgres strategy: one operation on the row `id` with the worker's own connection. */
export type PostgresStrategy<T> = {
  strategy: string;
  run: (client: pg.PoolClient, id: string, m: Measurements, thinkMs: number) => Promise<T>;
};

/**
 * The Postgres strategies of a read-modify-write race, unsafe first: the naive read-then-write
 * (read committed), the `atomic` single statement, `SELECT ... FOR UPDATE`, and SERIALIZABLE with
 * retries. `readThenWrite` reads the row (locking it when asked), thinks, and writes it back.
 */
export function postgresStrategies<T>(
  readThenWrite: (client: pg.PoolClient, id: string, thinkMs: number, lock: boolean) => Promise<T>,
  atomic: { strategy: string; run: (client: pg.PoolClient, id: string) => Promise<T> },
): PostgresStrategy<T>[] {
  return [
    {
      strategy: 'naive read-then-write',
      run: (client, id, _m, thinkMs) =>
        inTransaction(client, 'read committed', () => readThenWrite(client, id, thinkMs, false)),
    },
    atomic,
    {
      strategy: 'SELECT ... FOR UPDATE',
      run: (client, id, _m, thinkMs) =>
        inTransaction(client, 'read committed', () => readThenWrite(client, id, thinkMs, true)),
    },
    {
      strategy: 'SERIALIZABLE + retry',
      run: (client, id, m, thinkMs) =>
        retryOnConflict(
          () => inTransaction(client, 'serializable', () => readThenWrite(client, id, thinkMs, false)),
          isSerializationFailure,
          () => m.retries++,
          'serialization failures',
        ),
    },
  ];
}
