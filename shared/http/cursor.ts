import { z } from 'zod';
import { badRequest } from './errors.ts';

/**
 * Keyset-pagination cursors: a small JSON object, base64url-encoded. A cursor comes back from the
 * client, so it is input like any other: decoded against a schema that accepts only what the query
 * can use, and refused with 400 naming `query.cursor` otherwise (never a 500 from Postgres).
 */

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * Whether `value` is an ISO 8601 timestamp that JavaScript and Postgres' `timestamptz` read alike:
 * years 0001–9999, a real calendar day (no 2024-02-30), hours 00–23, at most microseconds, and an
 * explicit zone (`Z` or ±hh:mm up to 14 hours).
 *
 * @example
 * isPostgresTimestamp('2026-11-26T10:00:00.123456+00:00'); // true
 * isPostgresTimestamp('2024-02-30T00:00:00Z'); // false
 */
export function isPostgresTimestamp(value: string): boolean {
  const m = TIMESTAMP.exec(value);
  if (!m) return false;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number);
  const offsetHours = m[9] === undefined ? 0 : Number(m[9]);
  const offsetMinutes = m[10] === undefined ? 0 : Number(m[10]);
  if (year < 1 || hour > 23 || minute > 59 || second > 59 || offsetHours > 14 || offsetMinutes > 59)
    return false;
  const date = new Date(Date.UTC(2000, month - 1, day)); // a leap year stands in for the month's length check
  date.setUTCFullYear(year);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** A timestamp a keyset query can compare against (see {@link isPostgresTimestamp}). */
export const CursorTimestamp = z.string().refine(isPostgresTimestamp, 'must be an ISO 8601 timestamp');

/**
 * Encodes a cursor.
 *
 * @example
 * encodeCursor({ c: '2026-11-26T10:00:00+00:00', o: orderId }); // 'eyJjIjoi…'
 */
export const encodeCursor = (value: object): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

/** What a cursor holds: the JSON value {@link encodeCursor} wrote, or undefined when it is not base64url JSON. */
export function readCursor(cursor: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Decodes `query.cursor` against `schema`; undefined when there is none, 400 when it is not one of ours.
 *
 * @example
 * const after = decodeCursor(query.cursor, z.object({ c: CursorTimestamp, o: z.string().regex(UUID) }));
 */
export function decodeCursor<S extends z.ZodType>(
  cursor: string | undefined,
  schema: S,
): z.infer<S> | undefined {
  if (cursor === undefined) return undefined;
  const result = schema.safeParse(readCursor(cursor));
  if (!result.success) {
    throw badRequest('The cursor is invalid', [
      { path: 'query.cursor', message: 'must be a nextCursor from a previous page' },
    ]);
  }
  return result.data;
}

/**
 * A keyset listing's cursor: the key of a page's last item, sent as a small object under short
 * names (`wire`). `decode` reads `query.cursor` into the key to continue after (undefined when
 * there is none, 400 naming `query.cursor` when it is not one of ours); `encode` turns the last
 * key into `nextCursor` (null when the page was the last).
 *
 * @example
 * const OrderCursor = keysetCursor(z.object({ c: CursorTimestamp, o: z.uuid() }), {
 *   toKey: ({ c, o }) => ({ createdAt: c, orderId: o }),
 *   toWire: ({ createdAt, orderId }) => ({ c: createdAt, o: orderId }),
 * });
 */
export function keysetCursor<W extends z.ZodType<object>, K>(
  wire: W,
  codec: { toKey: (value: z.infer<W>) => K; toWire: (key: K) => z.infer<W> },
) {
  return {
    decode(cursor: string | undefined): K | undefined {
      const value = decodeCursor(cursor, wire);
      return value === undefined ? undefined : codec.toKey(value);
    },
    encode: (key: K | undefined): string | null =>
      key === undefined ? null : encodeCursor(codec.toWire(key)),
  };
}
