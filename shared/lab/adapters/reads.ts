import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { type ConsistencyToken, commitToken, hasReplayed } from '../../platform/adapters/postgres-reader.ts';
import { type LabKey, labClient, labTable } from './lab-table.ts';
import type { Measurements } from './measure.ts';
import { type WireTimes, wireTimed } from './wire-times.ts';

/**
 * The read modes the lab compares, shared by read-after-write and t-visibility: DynamoDB eventual,
 * strong and GSI reads; Postgres primary, replica and read-your-writes reads.
 */

export type DynamoRead = 'eventual' | 'strong' | 'index';
export type PostgresRead = 'primary' | 'replica' | 'read-your-writes';

export const DYNAMODB_READS: { read: DynamoRead; strategy: string }[] = [
  { read: 'eventual', strategy: 'GetItem (eventual)' },
  { read: 'strong', strategy: 'GetItem ConsistentRead' },
  { read: 'index', strategy: 'Query GSI byGroup' },
];

export const POSTGRES_READS: { read: PostgresRead; strategy: string }[] = [
  { read: 'primary', strategy: 'primary read' },
  { read: 'replica', strategy: 'replica read' },
  { read: 'read-your-writes', strategy: 'read-your-writes' },
];

/**
 * Reads a lab item's `version` one way: GetItem (eventual or ConsistentRead), or a Query on the
 * `byGroup` GSI by the item's `gsi1pk` (= its pk). Adds the consumed capacity to `m`.
 *
 * @example
 * const version = await readLabItem('index', key, m);
 */
export async function readLabItem(
  read: DynamoRead,
  key: LabKey,
  m?: Measurements,
  times?: WireTimes,
): Promise<number | undefined> {
  const timed = <C>(command: C): C => (times ? wireTimed(command, times).command : command);
  if (read === 'index') {
    const out = await labClient().send(
      timed(
        new QueryCommand({
          TableName: labTable(),
          IndexName: 'byGroup',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': key.pk },
          ReturnConsumedCapacity: m ? 'TOTAL' : undefined,
        }),
      ),
    );
    m?.capacity(out.ConsumedCapacity, 'read');
    return out.Items?.[0]?.version as number | undefined;
  }
  const out = await labClient().send(
    timed(
      new GetCommand({
        TableName: labTable(),
        Key: key,
        ConsistentRead: read === 'strong',
        ReturnConsumedCapacity: m ? 'TOTAL' : undefined,
      }),
    ),
  );
  m?.capacity(out.ConsumedCapacity, 'read');
  return out.Item?.version as number | undefined;
}

/** Postgres pools of a run: the primary's and the reader's. */
export interface LabPools {
  primary: pg.Pool;
  reader: pg.Pool;
}

/** A counter write: the commit's consistency token, and when it committed by the primary's clock. */
export interface CounterWrite {
  token: ConsistencyToken;
  /**
   * `clock_timestamp()` (epoch ms) as the insert ran, just before its commit record was stamped: the
   * instant a standby's `recovery_min_apply_delay` counts from.
   */
  committedAt: number;
}

/**
 * Writes version `n` of a lab counter on the primary and returns the commit's consistency token.
 *
 * @example
 * const { token } = await writeCounter(pools.primary, id, experimentId, 3);
 */
export async function writeCounter(
  primary: pg.Pool,
  id: string,
  experimentId: string,
  n: number,
): Promise<CounterWrite> {
  const committedAt = await insertCounter(primary, id, experimentId, n);
  // The token is asked after the commit: an LSN taken inside the transaction would precede its commit record.
  return { token: await commitToken(primary), committedAt };
}

/** Sets a counter to `n` (its own transaction); returns `clock_timestamp()` as it ran, epoch ms. */
async function insertCounter(primary: pg.Pool, id: string, experimentId: string, n: number): Promise<number> {
  const out = await primary.query<{ at: number }>(
    `insert into lab_counters (id, experiment_id, n) values ($1, $2, $3)
     on conflict (id) do update set n = excluded.n
     returning extract(epoch from clock_timestamp())::float8 * 1000 as at`,
    [id, experimentId, n],
  );
  return Number(out.rows[0]?.at);
}

/** A counter's value on `db` (undefined: no row) and the server's `statement_timestamp()`, epoch ms. */
async function selectCounter(db: pg.Pool, id: string): Promise<{ n: number | undefined; at: number }> {
  // statement_timestamp(): when the server received the read, just before it took its snapshot.
  const out = await db.query<{ n: string | null; at: number }>(
    `select (select n from lab_counters where id = $1) as n,
            extract(epoch from statement_timestamp())::float8 * 1000 as at`,
    [id],
  );
  const n = out.rows[0]?.n;
  return { n: n === null || n === undefined ? undefined : Number(n), at: Number(out.rows[0]?.at) };
}

/**
 * Reads a lab counter one way. read-your-writes asks the replica whether it has replayed `token`
 * and reads there if so, else on the primary (`fallback` says it did). `readAt` is the answering
 * server's `statement_timestamp()` in epoch ms.
 *
 * @example
 * const { n, fallback } = await readCounter('read-your-writes', pools, id, token);
 */
export async function readCounter(
  read: PostgresRead,
  pools: LabPools,
  id: string,
  token: ConsistencyToken,
): Promise<{ n: number | undefined; fallback: boolean; readAt: number }> {
  let db = read === 'primary' ? pools.primary : pools.reader;
  let fallback = false;
  if (read === 'read-your-writes' && !(await hasReplayed(pools.reader, token))) {
    db = pools.primary;
    fallback = true;
  }
  const { n, at } = await selectCounter(db, id);
  return { n, fallback, readAt: at };
}

/**
 * PBS's W for the Postgres reader (Bailis et al. §5: the write's propagation latency to a replica):
 * how long after a commit the reader shows it, by the servers' clock. Commits new versions of one
 * probe counter on the primary, one at a time, and polls the reader about every millisecond until it
 * shows each; a sample is the midpoint between the last poll that missed it and the first that saw
 * it (`statement_timestamp()`, like the trials' reads), less the commit's `clock_timestamp()`. On a
 * standby that is its `recovery_min_apply_delay` plus the real WAL flush, shipping and replay, under
 * whatever load the run puts on the machine. Runs until `stop.stopped`; a probe not seen in 5 s ends it.
 *
 * @example
 * const stop = { stopped: false };
 * const probing = probeApplyLatency(pools, `${experimentId}:probe`, experimentId, stop);
 * // … the trials …
 * stop.stopped = true;
 * const w = await probing; // ms, one per probe
 */
export async function probeApplyLatency(
  pools: LabPools,
  id: string,
  experimentId: string,
  stop: { stopped: boolean },
): Promise<number[]> {
  const samples: number[] = [];
  for (let version = 1; !stop.stopped; version++) {
    const committedAt = await insertCounter(pools.primary, id, experimentId, version);
    let lastMiss = committedAt;
    for (;;) {
      const { n, at } = await selectCounter(pools.reader, id);
      if ((n ?? 0) >= version) {
        samples.push((lastMiss + at) / 2 - committedAt);
        break;
      }
      if (at - committedAt > 5_000) return samples;
      lastMiss = at;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  return samples;
}
