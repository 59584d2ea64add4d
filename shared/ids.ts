/**
 * A UUID in its canonical text form (any version), as Postgres `uuid` columns and
 * `crypto.randomUUID()` produce. Checked before a lookup so a malformed id is a plain "not found",
 * not a database error.
 *
 * @example
 * if (!UUID.test(orderId)) throw notFound(`Order ${orderId} does not exist`);
 */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
