import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { retryOnConflict, runWorkers, think } from '../../domain/concurrency.ts';
import type { ResultRow } from '../../domain/report.ts';
import { type RunContext, warmUpDynamoDB } from '../context.ts';
import { inTransaction, isSerializationFailure, withConnections } from '../lab-db.ts';
import {
  isConditionFailure,
  type LabKey,
  labClient,
  labExpiry,
  labTable,
  transactionCancellation,
} from '../lab-table.ts';
import { Measurements } from '../measure.ts';

/**
 * lost-update: `concurrency` workers each add 1 to the same counter, which starts at 0; every trial
 * uses a fresh counter. An increment is lost when the final value is below the number of increments
 * that reported success: anomalies = expected − final. The latency is one increment's, think time,
 * conflicts and retries included.
 */

/** One increment of the counter at `key`; `ledgerKey` names (and records for cleanup) a per-increment item. */
type DynamoIncrement = (
  key: LabKey,
  m: Measurements,
  ledgerKey: () => LabKey,
  thinkMs: number,
) => Promise<void>;
type PostgresIncrement = (
  client: pg.PoolClient,
  id: string,
  m: Measurements,
  thinkMs: number,
) => Promise<void>;

const consistentGet = async (key: LabKey, m: Measurements) => {
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
};

/** DynamoDB strategies, unsafe first. Every read is strongly consistent: the race is not about stale reads. */
export const DYNAMODB_INCREMENTS: { strategy: string; increment: DynamoIncrement }[] = [
  {
    strategy: 'naive read-modify-write',
    increment: async (key, m, _ledger, thinkMs) => {
      const { n } = await consistentGet(key, m);
      await think(thinkMs);
      const out = await labClient().send(
        new UpdateCommand({
          TableName: labTable(),
          Key: key,
          UpdateExpression: 'SET n = :n',
          ExpressionAttributeValues: { ':n': Number(n) + 1 },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      m.capacity(out.ConsumedCapacity, 'write');
    },
  },
  {
    strategy: 'UpdateItem ADD',
    increment: async (key, m) => {
      const out = await labClient().send(
        new UpdateCommand({
          TableName: labTable(),
          Key: key,
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      m.capacity(out.ConsumedCapacity, 'write');
    },
  },
  {
    strategy: 'optimistic locking',
    increment: (key, m, _ledger, thinkMs) =>
      retryOnConflict(
        async () => {
          const { n, version } = await consistentGet(key, m);
          await think(thinkMs);
          const out = await labClient().send(
            new UpdateCommand({
              TableName: labTable(),
              Key: key,
              UpdateExpression: 'SET n = :n, version = :next',
              ConditionExpression: 'version = :seen',
              ExpressionAttributeValues: {
                ':n': Number(n) + 1,
                ':seen': Number(version),
                ':next': Number(version) + 1,
              },
              ReturnConsumedCapacity: 'TOTAL',
            }),
          );
          m.capacity(out.ConsumedCapacity, 'write');
        },
        isConditionFailure,
        () => m.retries++,
      ),
  },
  {
    strategy: 'TransactWriteItems',
    // The counter's ADD and a ledger item for this increment, all or nothing.
    increment: async (key, m, ledgerKey) => {
      const ledger = ledgerKey();
      await retryOnConflict(
        async () => {
          const out = await labClient().send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Update: {
                    TableName: labTable(),
                    Key: key,
                    UpdateExpression: 'ADD n :one',
                    ExpressionAttributeValues: { ':one': 1 },
                  },
                },
                {
                  Put: {
                    TableName: labTable(),
                    Item: { ...ledger, expiresAt: labExpiry() },
                    ConditionExpression: 'attribute_not_exists(pk)',
                  },
                },
              ],
              ReturnConsumedCapacity: 'TOTAL',
            }),
          );
          m.capacity(out.ConsumedCapacity, 'write');
        },
        (error) => transactionCancellation(error) === 'conflict',
        () => m.retries++,
      );
    },
  },
];

/** Postgres strategies, unsafe first. Each worker has a connection of its own. */
export const POSTGRES_INCREMENTS: { strategy: string; increment: PostgresIncrement }[] = [
  {
    strategy: 'naive read-then-write',
    increment: (client, id, _m, thinkMs) =>
      inTransaction(client, 'read committed', async () => {
        const { rows } = await client.query<{ n: string }>('select n from lab_counters where id = $1', [id]);
        await think(thinkMs);
        await client.query('update lab_counters set n = $2 where id = $1', [id, Number(rows[0]?.n) + 1]);
      }),
  },
  {
    strategy: 'UPDATE n = n + 1',
    increment: async (client, id) => {
      await client.query('update lab_counters set n = n + 1 where id = $1', [id]);
    },
  },
  {
    strategy: 'SELECT ... FOR UPDATE',
    increment: (client, id, _m, thinkMs) =>
      inTransaction(client, 'read committed', async () => {
        const { rows } = await client.query<{ n: string }>(
          'select n from lab_counters where id = $1 for update',
          [id],
        );
        await think(thinkMs);
        await client.query('update lab_counters set n = $2 where id = $1', [id, Number(rows[0]?.n) + 1]);
      }),
  },
  {
    strategy: 'SERIALIZABLE + retry',
    increment: (client, id, m, thinkMs) =>
      retryOnConflict(
        () =>
          inTransaction(client, 'serializable', async () => {
            const { rows } = await client.query<{ n: string }>('select n from lab_counters where id = $1', [
              id,
            ]);
            await think(thinkMs);
            await client.query('update lab_counters set n = $2 where id = $1', [id, Number(rows[0]?.n) + 1]);
          }),
        isSerializationFailure,
        () => m.retries++,
        'serialization failures',
      ),
  },
];

/**
 * Runs the scenario: four DynamoDB strategies, then four Postgres strategies, one after another.
 *
 * @example
 * const rows = await lostUpdate(ctx); // 8 rows
 */
export async function lostUpdate(ctx: RunContext): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const [index, { strategy, increment }] of DYNAMODB_INCREMENTS.entries()) {
    rows.push(await dynamodb(ctx, `s${index}`, strategy, increment));
  }
  for (const [index, { strategy, increment }] of POSTGRES_INCREMENTS.entries()) {
    rows.push(await postgres(ctx, `s${index}`, strategy, increment));
  }
  return rows;
}

async function dynamodb(
  ctx: RunContext,
  slug: string,
  strategy: string,
  increment: DynamoIncrement,
): Promise<ResultRow> {
  const { trials, concurrency, thinkTimeMs } = ctx.parameters;
  const m = new Measurements();
  let lost = 0;
  await warmUpDynamoDB(ctx);
  for (let trial = 0; trial < trials; trial++) {
    const key = ctx.keys.key('lost-update', slug, trial);
    await labClient().send(
      new PutCommand({ TableName: labTable(), Item: { ...key, n: 0, version: 0, expiresAt: labExpiry() } }),
    );
    let succeeded = 0;
    await runWorkers(concurrency, async (w) => {
      if (ctx.deadline.passed) return m.fail(new Error('deadline passed'));
      try {
        await m.time(() =>
          increment(key, m, () => ctx.keys.key('lost-update', slug, trial, 'inc', w), thinkTimeMs),
        );
        succeeded++;
      } catch (error) {
        m.fail(error);
      }
    });
    const final = await labClient().send(
      new GetCommand({ TableName: labTable(), Key: key, ConsistentRead: true }),
    );
    lost += Math.max(0, succeeded - Number(final.Item?.n ?? 0));
  }
  return m.row({ store: 'dynamodb', strategy, operations: trials * concurrency, anomalies: lost });
}

async function postgres(
  ctx: RunContext,
  slug: string,
  strategy: string,
  increment: PostgresIncrement,
): Promise<ResultRow> {
  const { trials, concurrency, thinkTimeMs } = ctx.parameters;
  const db = await ctx.pool();
  const m = new Measurements();
  let lost = 0;
  for (let trial = 0; trial < trials; trial++) {
    const id = `${ctx.experimentId}:lost-update:${slug}:${trial}`;
    await db.query('insert into lab_counters (id, experiment_id, n) values ($1, $2, 0)', [
      id,
      ctx.experimentId,
    ]);
    let succeeded = 0;
    await withConnections(db, concurrency, (clients) =>
      runWorkers(concurrency, async (w) => {
        if (ctx.deadline.passed) return m.fail(new Error('deadline passed'));
        try {
          await m.time(() => increment(clients[w] as pg.PoolClient, id, m, thinkTimeMs));
          succeeded++;
        } catch (error) {
          m.fail(error);
        }
      }),
    );
    const final = await db.query<{ n: string }>('select n from lab_counters where id = $1', [id]);
    lost += Math.max(0, succeeded - Number(final.rows[0]?.n ?? 0));
  }
  return m.row({ store: 'postgres', strategy, operations: trials * concurrency, anomalies: lost });
}
