import type pg from 'pg';
import { jobQueue, retryOnConflict, runWorkers, think } from '../../domain/concurrency.ts';
import type { ResultRow } from '../../domain/report.ts';
import type { RunContext } from '../context.ts';
import { isConditionFailure, type LabKey, transactionCancellation } from '../lab-table.ts';
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
 * oversell: a product with `stock` units and more demand than supply — `stock + concurrency`
 * purchase attempts of one unit, taken from a shared queue by `concurrency` buyers. A buyer reports
 * `sold` or `sold-out`; units sold beyond stock are the anomaly: max(0, sold − stock). The latency
 * is one purchase attempt's, think time and retries included.
 */

type Outcome = 'sold' | 'sold-out';

type DynamoBuy = (key: LabKey, m: Measurements, orderKey: () => LabKey, thinkMs: number) => Promise<Outcome>;

/** Takes one unit if there is one left. */
const TAKE_ONE = {
  UpdateExpression: 'SET stock = stock - :one',
  ConditionExpression: 'stock >= :one',
  ExpressionAttributeValues: { ':one': 1 },
};

/** DynamoDB strategies, unsafe first. */
export const DYNAMODB_BUYS: { strategy: string; buy: DynamoBuy }[] = [
  {
    strategy: 'naive read-modify-write',
    buy: async (key, m, _order, thinkMs) => {
      const stock = Number((await consistentGet(key, m)).stock);
      if (stock < 1) return 'sold-out';
      await think(thinkMs);
      await updateItem(m, key, {
        UpdateExpression: 'SET stock = :stock',
        ExpressionAttributeValues: { ':stock': stock - 1 },
      });
      return 'sold';
    },
  },
  {
    strategy: 'conditional UpdateItem',
    buy: async (key, m) => {
      try {
        await updateItem(m, key, TAKE_ONE);
        return 'sold';
      } catch (error) {
        if (isConditionFailure(error)) return 'sold-out';
        throw error;
      }
    },
  },
  {
    strategy: 'optimistic locking',
    buy: (key, m, _order, thinkMs) =>
      optimisticUpdate<Outcome>(m, key, thinkMs, (item) => {
        const stock = Number(item.stock);
        return stock < 1 ? { outcome: 'sold-out' } : { set: ['stock', stock - 1], outcome: 'sold' };
      }),
  },
  {
    strategy: 'TransactWriteItems',
    // Take a unit and record the order, all or nothing.
    buy: async (key, m, orderKey) => {
      const order = orderKey();
      return retryOnConflict(
        async (): Promise<Outcome> => {
          try {
            await updateWithRecord(m, key, TAKE_ONE, order);
            return 'sold';
          } catch (error) {
            // The stock condition failed: sold out, not a conflict to retry.
            if (transactionCancellation(error) === 'condition') return 'sold-out';
            throw error;
          }
        },
        (error) => transactionCancellation(error) === 'conflict',
        () => m.retries++,
      );
    },
  },
];

/** Reads the stock (locking the row with `lock`), thinks, writes stock − 1: the read-then-write race. */
const readThenWrite = async (
  client: pg.PoolClient,
  id: string,
  thinkMs: number,
  lock: boolean,
): Promise<Outcome> => {
  const { rows } = await client.query<{ stock: number }>(
    `select stock from lab_stock where id = $1${lock ? ' for update' : ''}`,
    [id],
  );
  const stock = Number(rows[0]?.stock);
  if (stock < 1) return 'sold-out';
  await think(thinkMs);
  await client.query('update lab_stock set stock = $2 where id = $1', [id, stock - 1]);
  return 'sold';
};

/** Postgres strategies, unsafe first. */
export const POSTGRES_BUYS = postgresStrategies(readThenWrite, {
  strategy: 'conditional UPDATE',
  run: async (client, id): Promise<Outcome> => {
    const out = await client.query('update lab_stock set stock = stock - 1 where id = $1 and stock >= 1', [
      id,
    ]);
    return out.rowCount === 1 ? 'sold' : 'sold-out';
  },
});

/**
 * Runs the scenario: four DynamoDB strategies, then four Postgres strategies, one after another.
 *
 * @example
 * const rows = await oversell(ctx); // 8 rows
 */
export async function oversell(ctx: RunContext): Promise<ResultRow[]> {
  const { trials, concurrency, stock, thinkTimeMs } = ctx.parameters;
  const row = (slug: string, strategy: string) => ({
    scenario: 'oversell',
    slug,
    strategy,
    operations: trials * (stock + concurrency),
  });
  const oversold = (sold: number) => Math.max(0, sold - stock);
  return eachStrategy(
    { dynamodb: DYNAMODB_BUYS, postgres: POSTGRES_BUYS },
    {
      dynamodb: (slug, { strategy, buy }) =>
        dynamoTrials(ctx, row(slug, strategy), { stock }, async (m, key, trial) =>
          oversold(
            await sell(ctx, m, (w, sequence) =>
              buy(key, m, () => ctx.keys.key('oversell', slug, trial, 'order', w, sequence), thinkTimeMs),
            ),
          ),
        ),
      postgres: (slug, { strategy, run: buy }) =>
        postgresTrials(
          ctx,
          row(slug, strategy),
          (db, id) =>
            db.query('insert into lab_stock (id, experiment_id, stock) values ($1, $2, $3)', [
              id,
              ctx.experimentId,
              stock,
            ]),
          async (m, clients, id) =>
            oversold(await sell(ctx, m, (w) => buy(clients[w] as pg.PoolClient, id, m, thinkTimeMs))),
        ),
    },
  );
}

/** Buyers take purchase attempts from a shared queue until it is empty; returns units sold. */
async function sell(
  ctx: RunContext,
  m: Measurements,
  attempt: (worker: number, sequence: number) => Promise<Outcome>,
): Promise<number> {
  const { stock, concurrency } = ctx.parameters;
  const jobs = jobQueue(stock + concurrency);
  let sold = 0;
  await runWorkers(concurrency, async (w) => {
    for (let sequence = 0; jobs.take(); sequence++) {
      if ((await measured(ctx, m, () => attempt(w, sequence)))?.value === 'sold') sold++;
    }
  });
  return sold;
}
