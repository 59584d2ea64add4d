import pg from 'pg';
import { connectionConfig } from '../../platform/adapters/postgres.ts';
import { readerConnectionConfig } from '../../platform/adapters/postgres-reader.ts';
import type { Deadline } from '../domain/concurrency.ts';

/**
 * The lab's Postgres side: tables `lab_counters` and `lab_stock` (migration 0003), rows keyed by
 * `<experimentId>:…` with the run's `experiment_id`, deleted when the run ends.
 */

/**
 * A pool of its own for one run, with a connection per worker (plus two for setup and checks): the
 * shared pool of the function has two, which would queue the workers instead of racing them.
 * `reader`: the read replica (`DATABASE_READER_URL` / `DB_READER_HOST`; the primary when there is none).
 * Close it with `end()` when the run is over.
 *
 * @example
 * const pool = await labPool(16, deadline); // or labPool(16, deadline, 'reader')
 * try { … } finally { await pool.end(); }
 */
export async function labPool(
  workers: number,
  deadline?: Deadline,
  endpoint: 'primary' | 'reader' = 'primary',
): Promise<pg.Pool> {
  // No statement outlives the run's deadline (a lock wait included), so cleanup still has its time.
  const leftMs = deadline ? Math.max(1_000, deadline.at - Date.now()) : undefined;
  const pool = new pg.Pool({
    ...(await (endpoint === 'reader' ? readerConnectionConfig() : connectionConfig())),
    max: workers + 2,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: Math.min(10_000, leftMs ?? 10_000),
    ...(leftMs ? { statement_timeout: leftMs, query_timeout: leftMs + 1_000 } : {}),
  });
  pool.on('error', () => {}); // a dropped idle connection is discarded; the next checkout opens another
  return pool;
}

/**
 * Checks out `count` connections before any worker starts (so opening connections does not stagger
 * the race), runs `work` with them, and releases them. A connection that saw an error is discarded.
 *
 * @example
 * await withConnections(pool, 16, (clients) => runWorkers(16, (i) => increment(clients[i])));
 */
export async function withConnections<T>(
  pool: pg.Pool,
  count: number,
  work: (clients: pg.PoolClient[]) => Promise<T>,
): Promise<T> {
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()));
  let failed = false;
  try {
    return await work(clients);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    for (const client of clients) client.release(failed);
  }
}

/** SQLSTATEs after which a transaction is simply run again: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Whether Postgres refused a transaction because of a concurrent one (retry it). */
export const isSerializationFailure = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && RETRYABLE.has((error as { code?: string }).code ?? '');

/**
 * Runs `fn` between `begin` (with the isolation level) and `commit`, rolling back on any error.
 *
 * @example
 * await inTransaction(client, 'serializable', async () => { … });
 */
export async function inTransaction<T>(
  client: pg.PoolClient,
  isolation: 'read committed' | 'serializable',
  fn: () => Promise<T>,
): Promise<T> {
  await client.query(`begin isolation level ${isolation}`);
  try {
    const result = await fn();
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

/** Deletes every lab row of a run. */
export async function deleteLabRows(db: pg.Pool, experimentId: string): Promise<void> {
  await db.query('delete from lab_counters where experiment_id = $1', [experimentId]);
  await db.query('delete from lab_stock where experiment_id = $1', [experimentId]);
  await db.query('delete from lab_writes where experiment_id = $1', [experimentId]);
  await db.query('delete from lab_partition where experiment_id = $1', [experimentId]);
}
