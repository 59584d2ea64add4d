import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { type Deadline, runWorkers } from '../domain/concurrency.ts';
import type { ExperimentParameters } from '../domain/parameters.ts';
import { labPool } from './lab-db.ts';
import { type LabKeys, labClient, labTable } from './lab-table.ts';

/** What a scenario gets: its parameters, its run's key registry, a deadline, and a Postgres pool. */
export interface RunContext {
  experimentId: string;
  parameters: ExperimentParameters;
  keys: LabKeys;
  deadline: Deadline;
  /** The run's own pool (one connection per worker), opened on first use. */
  pool: () => Promise<pg.Pool>;
  /** The same on the read replica (the primary when there is none). */
  readerPool: () => Promise<pg.Pool>;
  /** The replica lag model in force (`REPLICATION_MODEL`), undefined when nobody states one. */
  replicationModel?: string;
}

/**
 * A lazily opened lab pool and a way to close it (a no-op when it was never opened).
 *
 * @example
 * const db = lazyPool(16);
 * try { await (await db.pool()).query('select 1'); } finally { await db.end(); }
 */
export function lazyPool(
  workers: number,
  deadline?: Deadline,
  endpoint: 'primary' | 'reader' = 'primary',
): {
  pool: () => Promise<pg.Pool>;
  opened: () => Promise<pg.Pool> | undefined;
  end: () => Promise<void>;
} {
  let opened: Promise<pg.Pool> | undefined;
  return {
    pool: () => {
      opened ??= labPool(workers, deadline, endpoint);
      return opened;
    },
    opened: () => opened,
    end: async () => {
      if (opened) await (await opened).end();
    },
  };
}

/**
 * Opens one HTTP connection per worker to DynamoDB before a measured round (a GetItem of a key that
 * does not exist), so the first measured requests do not pay for TCP setup and start together.
 */
export async function warmUpDynamoDB(ctx: RunContext): Promise<void> {
  await runWorkers(ctx.parameters.concurrency, async () => {
    await labClient().send(
      new GetCommand({ TableName: labTable(), Key: { pk: `LAB#${ctx.experimentId}#warm-up`, sk: 'ITEM' } }),
    );
  });
}
