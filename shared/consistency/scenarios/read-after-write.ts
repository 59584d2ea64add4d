import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { runWorkers } from '../concurrency.ts';
import { type RunContext, warmUpDynamoDB } from '../context.ts';
import { labClient, labExpiry, labTable } from '../lab-table.ts';
import { Measurements } from '../measure.ts';
import type { ResultRow } from '../report.ts';

/**
 * read-after-write: write a new version of an item, then read it at once; a read that does not
 * return the version just written is stale. Trials are spread over `concurrency` workers, each on an
 * item of its own, writing versions 1, 2, 3, … in turn. The latency is the read's; the capacity
 * units are what DynamoDB reported for the writes and the reads.
 */

type Read = 'eventual' | 'strong' | 'index';

const DYNAMODB_STRATEGIES: { read: Read; strategy: string }[] = [
  { read: 'eventual', strategy: 'GetItem (eventual)' },
  { read: 'strong', strategy: 'GetItem ConsistentRead' },
  { read: 'index', strategy: 'Query GSI byGroup' },
];

/** How many trials worker `w` of `workers` runs, when `trials` are dealt out round-robin. */
export const trialsOf = (trials: number, workers: number, w: number) =>
  Math.floor(trials / workers) + (w < trials % workers ? 1 : 0);

/**
 * Runs the scenario: the three DynamoDB reads, then Postgres, one after another.
 *
 * @example
 * const rows = await readAfterWrite(ctx); // 4 rows
 */
export async function readAfterWrite(ctx: RunContext): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const { read, strategy } of DYNAMODB_STRATEGIES) rows.push(await dynamodb(ctx, read, strategy));
  rows.push(await postgres(ctx));
  return rows;
}

async function dynamodb(ctx: RunContext, read: Read, strategy: string): Promise<ResultRow> {
  const { trials, concurrency } = ctx.parameters;
  const workers = Math.min(trials, concurrency);
  const m = new Measurements();
  let stale = 0;
  await warmUpDynamoDB(ctx);
  await runWorkers(workers, async (w) => {
    const key = ctx.keys.key('raw', read, w);
    for (let version = 1; version <= trialsOf(trials, workers, w); version++) {
      if (ctx.deadline.passed) {
        m.fail(new Error('deadline passed'));
        continue;
      }
      try {
        const written = await labClient().send(
          new PutCommand({
            TableName: labTable(),
            Item: {
              ...key,
              version,
              expiresAt: labExpiry(),
              // Only the index strategy's items are indexed: a GSI costs a write of its own.
              ...(read === 'index' ? { gsi1pk: key.pk, gsi1sk: 'ITEM' } : {}),
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        m.capacity(written.ConsumedCapacity, 'write');
        const seen = await m.time(async () => {
          if (read === 'index') {
            const out = await labClient().send(
              new QueryCommand({
                TableName: labTable(),
                IndexName: 'byGroup',
                KeyConditionExpression: 'gsi1pk = :pk',
                ExpressionAttributeValues: { ':pk': key.pk },
                ReturnConsumedCapacity: 'TOTAL',
              }),
            );
            m.capacity(out.ConsumedCapacity, 'read');
            return out.Items?.[0]?.version as number | undefined;
          }
          const out = await labClient().send(
            new GetCommand({
              TableName: labTable(),
              Key: key,
              ConsistentRead: read === 'strong',
              ReturnConsumedCapacity: 'TOTAL',
            }),
          );
          m.capacity(out.ConsumedCapacity, 'read');
          return out.Item?.version as number | undefined;
        });
        if (seen !== version) stale++;
      } catch (error) {
        m.fail(error);
      }
    }
  });
  return m.row({ store: 'dynamodb', strategy, operations: trials, anomalies: stale });
}

async function postgres(ctx: RunContext): Promise<ResultRow> {
  const { trials, concurrency } = ctx.parameters;
  const workers = Math.min(trials, concurrency);
  const db = await ctx.pool();
  const m = new Measurements();
  let stale = 0;
  await runWorkers(workers, async (w) => {
    const id = `${ctx.experimentId}:raw:${w}`;
    for (let version = 1; version <= trialsOf(trials, workers, w); version++) {
      if (ctx.deadline.passed) {
        m.fail(new Error('deadline passed'));
        continue;
      }
      try {
        await db.query(
          `insert into lab_counters (id, experiment_id, n) values ($1, $2, $3)
           on conflict (id) do update set n = excluded.n`,
          [id, ctx.experimentId, version],
        );
        // Any connection of the pool: they all reach the primary.
        const seen = await m.time(() =>
          db.query<{ n: string }>('select n from lab_counters where id = $1', [id]),
        );
        if (Number(seen.rows[0]?.n) !== version) stale++;
      } catch (error) {
        m.fail(error);
      }
    }
  });
  return m.row({ store: 'postgres', strategy: 'primary read', operations: trials, anomalies: stale });
}
