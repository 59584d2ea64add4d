import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { jobQueue, retryOnConflict, runWorkers, think } from '../../domain/concurrency.ts';
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
 * oversell: a product with `stock` units and more demand than supply — `stock + concurrency`
 * purchase attempts of one unit, taken from a shared queue by `concurrency` buyers. A buyer reports
 * `sold` or `sold-out`; units sold beyond stock are the anomaly: max(0, sold − stock). The latency
 * is one purchase attempt's, think time and retries included.
 */

type Outcome = 'sold' | 'sold-out';

type DynamoBuy = (key: LabKey, m: Measurements, orderKey: () => LabKey, thinkMs: number) => Promise<Outcome>;
type PostgresBuy = (client: pg.PoolClient, id: string, m: Measurements, thinkMs: number) => Promise<Outcome>;

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

/** DynamoDB strategies, unsafe first. */
export const DYNAMODB_BUYS: { strategy: string; buy: DynamoBuy }[] = [
  {
    strategy: 'naive read-modify-write',
    buy: async (key, m, _order, thinkMs) => {
      const stock = Number((await consistentGet(key, m)).stock);
      if (stock < 1) return 'sold-out';
      await think(thinkMs);
      const out = await labClient().send(
        new UpdateCommand({
          TableName: labTable(),
          Key: key,
          UpdateExpression: 'SET stock = :stock',
          ExpressionAttributeValues: { ':stock': stock - 1 },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      m.capacity(out.ConsumedCapacity, 'write');
      return 'sold';
    },
  },
  {
    strategy: 'conditional UpdateItem',
    buy: async (key, m) => {
      try {
        const out = await labClient().send(
          new UpdateCommand({
            TableName: labTable(),
            Key: key,
            UpdateExpression: 'SET stock = stock - :one',
            ConditionExpression: 'stock >= :one',
            ExpressionAttributeValues: { ':one': 1 },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        m.capacity(out.ConsumedCapacity, 'write');
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
      retryOnConflict(
        async (): Promise<Outcome> => {
          const item = await consistentGet(key, m);
          const stock = Number(item.stock);
          if (stock < 1) return 'sold-out';
          await think(thinkMs);
          const out = await labClient().send(
            new UpdateCommand({
              TableName: labTable(),
              Key: key,
              UpdateExpression: 'SET stock = :stock, version = :next',
              ConditionExpression: 'version = :seen',
              ExpressionAttributeValues: {
                ':stock': stock - 1,
                ':seen': Number(item.version),
                ':next': Number(item.version) + 1,
              },
              ReturnConsumedCapacity: 'TOTAL',
            }),
          );
          m.capacity(out.ConsumedCapacity, 'write');
          return 'sold';
        },
        isConditionFailure,
        () => m.retries++,
      ),
  },
  {
    strategy: 'TransactWriteItems',
    // Take a unit and record the order, all or nothing.
    buy: async (key, m, orderKey) => {
      const order = orderKey();
      return retryOnConflict(
        async (): Promise<Outcome> => {
          try {
            const out = await labClient().send(
              new TransactWriteCommand({
                TransactItems: [
                  {
                    Update: {
                      TableName: labTable(),
                      Key: key,
                      UpdateExpression: 'SET stock = stock - :one',
                      ConditionExpression: 'stock >= :one',
                      ExpressionAttributeValues: { ':one': 1 },
                    },
                  },
                  {
                    Put: {
                      TableName: labTable(),
                      Item: { ...order, expiresAt: labExpiry() },
                      ConditionExpression: 'attribute_not_exists(pk)',
                    },
                  },
                ],
                ReturnConsumedCapacity: 'TOTAL',
              }),
            );
            m.capacity(out.ConsumedCapacity, 'write');
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

const readStock = async (client: pg.PoolClient, id: string, lock: boolean) => {
  const { rows } = await client.query<{ stock: number }>(
    `select stock from lab_stock where id = $1${lock ? ' for update' : ''}`,
    [id],
  );
  return Number(rows[0]?.stock);
};

/** Postgres strategies, unsafe first. */
export const POSTGRES_BUYS: { strategy: string; buy: PostgresBuy }[] = [
  {
    strategy: 'naive read-then-write',
    buy: (client, id, _m, thinkMs) =>
      inTransaction(client, 'read committed', async () => {
        const stock = await readStock(client, id, false);
        if (stock < 1) return 'sold-out';
        await think(thinkMs);
        await client.query('update lab_stock set stock = $2 where id = $1', [id, stock - 1]);
        return 'sold';
      }),
  },
  {
    strategy: 'conditional UPDATE',
    buy: async (client, id) => {
      const out = await client.query('update lab_stock set stock = stock - 1 where id = $1 and stock >= 1', [
        id,
      ]);
      return out.rowCount === 1 ? 'sold' : 'sold-out';
    },
  },
  {
    strategy: 'SELECT ... FOR UPDATE',
    buy: (client, id, _m, thinkMs) =>
      inTransaction(client, 'read committed', async () => {
        const stock = await readStock(client, id, true);
        if (stock < 1) return 'sold-out';
        await think(thinkMs);
        await client.query('update lab_stock set stock = $2 where id = $1', [id, stock - 1]);
        return 'sold';
      }),
  },
  {
    strategy: 'SERIALIZABLE + retry',
    buy: (client, id, m, thinkMs) =>
      retryOnConflict(
        () =>
          inTransaction(client, 'serializable', async (): Promise<Outcome> => {
            const stock = await readStock(client, id, false);
            if (stock < 1) return 'sold-out';
            await think(thinkMs);
            await client.query('update lab_stock set stock = $2 where id = $1', [id, stock - 1]);
            return 'sold';
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
 * const rows = await oversell(ctx); // 8 rows
 */
export async function oversell(ctx: RunContext): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const [index, { strategy, buy }] of DYNAMODB_BUYS.entries()) {
    rows.push(await dynamodb(ctx, `s${index}`, strategy, buy));
  }
  for (const [index, { strategy, buy }] of POSTGRES_BUYS.entries()) {
    rows.push(await postgres(ctx, `s${index}`, strategy, buy));
  }
  return rows;
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
      if (ctx.deadline.passed) {
        m.fail(new Error('deadline passed'));
        continue;
      }
      try {
        if ((await m.time(() => attempt(w, sequence))) === 'sold') sold++;
      } catch (error) {
        m.fail(error);
      }
    }
  });
  return sold;
}

async function dynamodb(ctx: RunContext, slug: string, strategy: string, buy: DynamoBuy): Promise<ResultRow> {
  const { trials, concurrency, stock, thinkTimeMs } = ctx.parameters;
  const m = new Measurements();
  let oversold = 0;
  await warmUpDynamoDB(ctx);
  for (let trial = 0; trial < trials; trial++) {
    const key = ctx.keys.key('oversell', slug, trial);
    await labClient().send(
      new PutCommand({ TableName: labTable(), Item: { ...key, stock, version: 0, expiresAt: labExpiry() } }),
    );
    const sold = await sell(ctx, m, (w, sequence) =>
      buy(key, m, () => ctx.keys.key('oversell', slug, trial, 'order', w, sequence), thinkTimeMs),
    );
    oversold += Math.max(0, sold - stock);
  }
  return m.row({
    store: 'dynamodb',
    strategy,
    operations: trials * (stock + concurrency),
    anomalies: oversold,
  });
}

async function postgres(
  ctx: RunContext,
  slug: string,
  strategy: string,
  buy: PostgresBuy,
): Promise<ResultRow> {
  const { trials, concurrency, stock, thinkTimeMs } = ctx.parameters;
  const db = await ctx.pool();
  const m = new Measurements();
  let oversold = 0;
  for (let trial = 0; trial < trials; trial++) {
    const id = `${ctx.experimentId}:oversell:${slug}:${trial}`;
    await db.query('insert into lab_stock (id, experiment_id, stock) values ($1, $2, $3)', [
      id,
      ctx.experimentId,
      stock,
    ]);
    const sold = await withConnections(db, concurrency, (clients) =>
      sell(ctx, m, (w) => buy(clients[w] as pg.PoolClient, id, m, thinkTimeMs)),
    );
    oversold += Math.max(0, sold - stock);
  }
  return m.row({
    store: 'postgres',
    strategy,
    operations: trials * (stock + concurrency),
    anomalies: oversold,
  });
}
