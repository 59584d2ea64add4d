import type pg from 'pg';
import { optionalEnv } from '../../config.ts';
import type { ConsistencyToken, ReadSource } from '../read-your-writes.ts';
import { connectionConfig, functionPool, postgresPool } from './postgres.ts';

/**
 * The Postgres **reader endpoint**: a streaming replica for reads that may lag (order history, the
 * lab's replica reads), and read-your-writes on top of it with a commit LSN.
 *
 * - `DATABASE_READER_URL` (local cloud: its streaming standby; LocalStack: whatever you pass), or
 * - `DB_READER_HOST` next to `DB_SECRET_ARN` (RDS: the read replica's address, same credentials),
 * - otherwise the primary itself (dev on AWS has no replica; the reads are then never stale).
 *
 * A replica applies the primary's WAL after the primary committed (asynchronous replication), so a
 * read there can miss a recent commit. A writer that must see its own writes passes the position
 * of its commit (a {@link ConsistencyToken}); {@link readPoolFor} answers from the replica only when
 * it has replayed that far (`pg_last_wal_replay_lsn()`), else from the primary.
 */

export type { ConsistencyToken };

/** Reader connection settings (the primary's when no reader is configured). */
export async function readerConnectionConfig(env: NodeJS.ProcessEnv = process.env): Promise<pg.PoolConfig> {
  const url = optionalEnv('DATABASE_READER_URL', undefined, env);
  if (url) return { connectionString: url };
  const base = await connectionConfig(env);
  const host = optionalEnv('DB_READER_HOST', undefined, env);
  return host && !base.connectionString ? { ...base, host } : base;
}

/** Whether a reader other than the primary is configured. */
export const hasReader = (env: NodeJS.ProcessEnv = process.env) =>
  Boolean(
    optionalEnv('DATABASE_READER_URL', undefined, env) || optionalEnv('DB_READER_HOST', undefined, env),
  );

let pool: Promise<pg.Pool> | undefined;

/**
 * The reader's pool (the primary's pool when there is no reader), created on first use.
 *
 * @example
 * const orders = await (await readerPool()).query('select … from orders where user_id = $1', [userId]);
 */
export function readerPool(): Promise<pg.Pool> {
  if (!hasReader()) return postgresPool();
  pool ??= readerConnectionConfig().then((config) => functionPool(config, () => readerConnectionConfig()));
  pool.catch(() => {
    pool = undefined;
  });
  return pool;
}

/**
 * The position a reader must reach to show everything committed so far: call it after a commit.
 * (`pg_current_wal_insert_lsn()` is at or past the end of every committed transaction's WAL.)
 *
 * @example
 * const token = await commitToken(); // '0/3000148'
 */
export async function commitToken(db?: pg.Pool | pg.PoolClient): Promise<ConsistencyToken> {
  const out = await (db ?? (await postgresPool())).query<{ lsn: string }>(
    'select pg_current_wal_insert_lsn()::text as lsn',
  );
  return out.rows[0]?.lsn as string;
}

/**
 * Whether `reader` has replayed the WAL up to `token`. A primary (no replay position) always has.
 *
 * @example
 * if (await hasReplayed(await readerPool(), token)) …
 */
export async function hasReplayed(
  reader: pg.Pool | pg.PoolClient,
  token: ConsistencyToken,
): Promise<boolean> {
  const out = await reader.query<{ reached: boolean | null }>(
    'select pg_last_wal_replay_lsn() >= $1::pg_lsn as reached',
    [token],
  );
  return out.rows[0]?.reached !== false;
}

/**
 * Where to read: the replica, or the primary when the caller's token says the replica may not show
 * the caller's own writes yet. `source` says which one answers (for an `x-read-source` header).
 *
 * @example
 * const { db, source } = await readPoolFor(token);
 */
export async function readPoolFor(
  token: ConsistencyToken | undefined,
): Promise<{ db: pg.Pool; source: ReadSource }> {
  if (!hasReader()) return { db: await postgresPool(), source: 'primary' };
  const reader = await readerPool();
  if (token === undefined || (await hasReplayed(reader, token))) return { db: reader, source: 'replica' };
  return { db: await postgresPool(), source: 'primary' };
}
