import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { runWorkers } from '../../domain/concurrency.ts';
import type { ResultRow } from '../../domain/report.ts';
import { type RunContext, warmUpDynamoDB } from '../context.ts';
import { labClient, labExpiry, labTable } from '../lab-table.ts';
import { Measurements } from '../measure.ts';
import {
  DYNAMODB_READS,
  type DynamoRead,
  POSTGRES_READS,
  type PostgresRead,
  readCounter,
  readLabItem,
  writeCounter,
} from '../reads.ts';

/**
 * read-after-write: write a new version of an item, then read it at once; a read that does not
 * return the version just written is stale. Trials are spread over `concurrency` workers, each on an
 * item of its own, writing versions 1, 2, 3, … in turn. The latency is the read's; the capacity
 * units are what DynamoDB reported for the writes and the reads. Postgres is read from the primary,
 * from the read replica, and read-your-writes (the replica once it has replayed the write's commit
 * LSN, else the primary: `retries` counts those fallbacks).
 */

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
  for (const { read, strategy } of DYNAMODB_READS) rows.push(await dynamodb(ctx, read, strategy));
  for (const { read, strategy } of POSTGRES_READS) rows.push(await postgres(ctx, read, strategy));
  return rows;
}

async function dynamodb(ctx: RunContext, read: DynamoRead, strategy: string): Promise<ResultRow> {
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
        const seen = await m.time(() => readLabItem(read, key, m));
        if (seen !== version) stale++;
      } catch (error) {
        m.fail(error);
      }
    }
  });
  return m.row({ store: 'dynamodb', strategy, operations: trials, anomalies: stale });
}

async function postgres(ctx: RunContext, read: PostgresRead, strategy: string): Promise<ResultRow> {
  const { trials, concurrency } = ctx.parameters;
  const workers = Math.min(trials, concurrency);
  const pools = { primary: await ctx.pool(), reader: await ctx.readerPool() };
  const m = new Measurements();
  let stale = 0;
  await runWorkers(workers, async (w) => {
    const id = `${ctx.experimentId}:raw:${read}:${w}`;
    for (let version = 1; version <= trialsOf(trials, workers, w); version++) {
      if (ctx.deadline.passed) {
        m.fail(new Error('deadline passed'));
        continue;
      }
      try {
        const { token } = await writeCounter(pools.primary, id, ctx.experimentId, version);
        const seen = await m.time(() => readCounter(read, pools, id, token));
        if (seen.fallback) m.retries++;
        if (seen.n !== version) stale++;
      } catch (error) {
        m.fail(error);
      }
    }
  });
  return m.row({ store: 'postgres', strategy, operations: trials, anomalies: stale });
}
