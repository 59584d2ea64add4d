import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { retryOnConflict, runWorkers, think } from '../../domain/concurrency.ts';
import type { ResultRow } from '../../domain/report.ts';
import type { RunContext } from '../context.ts';
import { type LabKey, labClient, labTable, transactionCancellation } from '../lab-table.ts';
import type { Measurements } from '../measure.ts';
import {
  consistentGet,
  dynamoTrials,
  eachStrategy,
  measured,
  optimisticUpdate,
  postgresStrategies,
  postgresTrials,
  updateItem,
  updateWithRecord,
} from './harness.ts';

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

/** Adds one to the counter. */
const ADD_ONE = { UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } };

/** DynamoDB strategies, unsafe first. Every read is strongly consistent: the race is not about stale reads. */
export const DYNAMODB_INCREMENTS: { strategy: string; increment: DynamoIncrement }[] = [
  {
    strategy: 'naive read-modify-write',
    increment: async (key, m, _ledger, thinkMs) => {
      const { n } = await consistentGet(key, m);
      await think(thinkMs);
      await updateItem(m, key, {
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': Number(n) + 1 },
      });
    },
  },
  {
    strategy: 'UpdateItem ADD',
    increment: (key, m) => updateItem(m, key, ADD_ONE),
  },
  {
    strategy: 'optimistic locking',
    increment: async (key, m, _ledger, thinkMs) => {
      await optimisticUpdate(m, key, thinkMs, (item) => ({
        set: ['n', Number(item.n) + 1],
        outcome: undefined,
      }));
    },
  },
  {
    strategy: 'TransactWriteItems',
    // The counter's ADD and a ledger item for this increment, all or nothing.
    increment: async (key, m, ledgerKey) => {
      const ledger = ledgerKey();
      await retryOnConflict(
        () => updateWithRecord(m, key, ADD_ONE, ledger),
        (error) => transactionCancellation(error) === 'conflict',
        () => m.retries++,
      );
    },
  },
];

/** Reads the counter (locking the row with `lock`), thinks, writes n + 1: the read-then-write race. */
async function readThenWrite(client: pg.PoolClient, id: string, thinkMs: number, lock: boolean) {
  const { rows } = await client.query<{ n: string }>(
    `select n from lab_counters where id = $1${lock ? ' for update' : ''}`,
    [id],
  );
  await think(thinkMs);
  await client.query('update lab_counters set n = $2 where id = $1', [id, Number(rows[0]?.n) + 1]);
}

/** Postgres strategies, unsafe first. Each worker has a connection of its own. */
export const POSTGRES_INCREMENTS = postgresStrategies(readThenWrite, {
  strategy: 'UPDATE n = n + 1',
  run: async (client, id) => {
    await client.query('update lab_counters set n = n + 1 where id = $1', [id]);
  },
});

/**
 * Runs the scenario: four DynamoDB strategies, then four Postgres strategies, one after another.
 *
 * @example
 * const rows = await lostUpdate(ctx); // 8 rows
 */
export async function lostUpdate(ctx: RunContext): Promise<ResultRow[]> {
  const { trials, concurrency, thinkTimeMs } = ctx.parameters;
  const row = (slug: string, strategy: string) => ({
    scenario: 'lost-update',
    slug,
    strategy,
    operations: trials * concurrency,
  });
  /** Each worker increments once; returns how many increments reported success. */
  const increments = async (m: Measurements, increment: (w: number) => Promise<void>) => {
    let succeeded = 0;
    await runWorkers(concurrency, async (w) => {
      if (await measured(ctx, m, () => increment(w))) succeeded++;
    });
    return succeeded;
  };
  return eachStrategy(
    { dynamodb: DYNAMODB_INCREMENTS, postgres: POSTGRES_INCREMENTS },
    {
      dynamodb: (slug, { strategy, increment }) =>
        dynamoTrials(ctx, row(slug, strategy), { n: 0 }, async (m, key, trial) => {
          const succeeded = await increments(m, (w) =>
            increment(key, m, () => ctx.keys.key('lost-update', slug, trial, 'inc', w), thinkTimeMs),
          );
          const final = await labClient().send(
            new GetCommand({ TableName: labTable(), Key: key, ConsistentRead: true }),
          );
          return Math.max(0, succeeded - Number(final.Item?.n ?? 0));
        }),
      postgres: (slug, { strategy, run: increment }) =>
        postgresTrials(
          ctx,
          row(slug, strategy),
          (db, id) =>
            db.query('insert into lab_counters (id, experiment_id, n) values ($1, $2, 0)', [
              id,
              ctx.experimentId,
            ]),
          async (m, clients, id, db) => {
            const succeeded = await increments(m, (w) =>
              increment(clients[w] as pg.PoolClient, id, m, thinkTimeMs),
            );
            const final = await db.query<{ n: string }>('select n from lab_counters where id = $1', [id]);
            return Math.max(0, succeeded - Number(final.rows[0]?.n ?? 0));
          },
        ),
    },
  );
}
