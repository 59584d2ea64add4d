import { z } from 'zod';

/**
 * Read-your-writes over a lagging read replica, as the API shows it: a write answers with
 * `x-consistency-token` (the WAL position of its commit); a read that sends it back is served by the
 * replica only once it has replayed that far, else by the primary, and says which in
 * `x-read-source`. Reads without a token come from the replica and may lag. The Postgres side is
 * `shared/platform/adapters/postgres-reader.ts`.
 */

/** A WAL position (`pg_lsn` text, e.g. `0/16B3748`) a reader must have replayed. */
export type ConsistencyToken = string;

/** What a consistency token looks like: two hex numbers of up to 8 digits (`pg_lsn`). */
export const CONSISTENCY_TOKEN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

/** The header a write's token comes in, and a read sends it back in. */
export const CONSISTENCY_TOKEN_HEADER = 'x-consistency-token';

/** The `x-consistency-token` request header: absent, or a token from a previous answer. */
export const ConsistencyTokenHeader = z
  .string()
  .regex(CONSISTENCY_TOKEN, 'must be an x-consistency-token from a previous answer')
  .optional();

/** Which database answered a read (the `x-read-source` header). */
export type ReadSource = 'replica' | 'primary';
