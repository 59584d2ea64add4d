/**
 * The invariants the chaos harness checks after each experiment, against the stores themselves
 * (Postgres is the truth for orders and stock) and the local cloud's control API.
 *
 * @module
 */
import pg from 'pg';
import type { Sample } from './client.ts';
import type { CloudProcess } from './cloud-process.ts';

/** One invariant's verdict: held, broken, or not applicable to this experiment (`held: undefined`). */
export interface Verdict {
  held: boolean | undefined;
  detail: string;
}

export const INVARIANTS = {
  confirmed: 'every 201 order still exists',
  stock: 'stock + units sold = initial',
  oncePerCart: 'at most one order per cart state',
  events: 'events delivered or dead-lettered',
  input5xx: 'no 5xx from input',
  budget: 'no request over 29 s',
  memory: 'memory back under bound',
} as const;
export type InvariantName = keyof typeof INVARIANTS;

/** API Gateway's limit; a client sees a little more (connection, its own scheduling). */
export const BUDGET_MS = 29_000;
const BUDGET_SLACK_MS = 1_000;

/** The embedded Postgres of a chaos cloud (credentials are the embedded defaults). */
export async function withPostgres<T>(
  cloud: CloudProcess,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const endpoint = cloud.endpoints.endpoints?.postgres;
  if (!endpoint) throw new Error('the local cloud did not say where its Postgres is');
  const client = new pg.Client({
    connectionString: `${endpoint.replace('postgres://', 'postgres://postgres:postgres@')}/shop`,
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function confirmedOrdersExist(cloud: CloudProcess, orderIds: string[]): Promise<Verdict> {
  if (orderIds.length === 0) return { held: undefined, detail: 'no order was placed' };
  const found = await withPostgres(cloud, async (db) => {
    const { rows } = await db.query<{ n: number }>(
      'select count(*)::int as n from orders where order_id = any($1::uuid[])',
      [[...new Set(orderIds)]],
    );
    return rows[0]?.n ?? 0;
  });
  const confirmed = new Set(orderIds).size;
  return { held: found === confirmed, detail: `${found}/${confirmed} confirmed orders found` };
}

export async function stockConserved(
  cloud: CloudProcess,
  productId: string,
  initial: number,
): Promise<Verdict> {
  const { stock, sold } = await withPostgres(cloud, async (db) => {
    const s = await db.query<{ stock: number }>('select stock from inventory where product_id = $1', [
      productId,
    ]);
    const u = await db.query<{ sold: number }>(
      `select coalesce(sum(i.quantity), 0)::int as sold from order_items i
         join orders o on o.region = i.region and o.order_id = i.order_id
        where i.product_id = $1 and o.status = 'PLACED'`,
      [productId],
    );
    return { stock: s.rows[0]?.stock ?? Number.NaN, sold: u.rows[0]?.sold ?? 0 };
  });
  return {
    held: stock + sold === initial,
    detail: `${stock} + ${sold} = ${stock + sold} (initial ${initial})`,
  };
}

/** Orders in Postgres per user against the cart states each user checked out. */
export async function oncePerCartState(
  cloud: CloudProcess,
  cartStates: Map<string, number>,
): Promise<Verdict> {
  if (cartStates.size === 0) return { held: undefined, detail: 'no checkout' };
  const counts = await withPostgres(cloud, async (db) => {
    const { rows } = await db.query<{ user_id: string; n: number }>(
      'select user_id, count(*)::int as n from orders where user_id = any($1) group by user_id',
      [[...cartStates.keys()]],
    );
    return new Map(rows.map((r) => [r.user_id, r.n]));
  });
  let orders = 0;
  let states = 0;
  const over: string[] = [];
  for (const [user, n] of cartStates) {
    const placed = counts.get(user) ?? 0;
    orders += placed;
    states += n;
    if (placed > n) over.push(`${user}: ${placed} orders for ${n} cart state(s)`);
  }
  return {
    held: over.length === 0,
    detail: over.length ? over.slice(0, 3).join('; ') : `${orders} orders for ${states} cart states`,
  };
}

/**
 * Every event the outbox published reached its targets or a dead letter: after the relay has run,
 * the outbox has nothing unpublished, the bus nothing pending, and the catalog's `available` equals
 * Postgres' stock (the last InventoryChanged arrived).
 */
export async function eventsSettled(
  cloud: CloudProcess,
  check: { productId?: string; available?: () => Promise<number | undefined> },
  timeoutMs = 90_000,
): Promise<Verdict> {
  // Every scheduled relay (the outbox safety nets), run by hand: schedules never fire locally.
  type RuleInfo = { name: string; scheduleExpression?: string; targets: { arn: string }[] };
  const relays = (await cloud.control<RuleInfo[]>('/rules')).filter(
    (r) => r.scheduleExpression && r.targets.some((t) => /Relay/i.test(t.arn)),
  );
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let round = 0; ; round++) {
    for (const relay of round % 10 === 0 ? relays : []) {
      await cloud
        .control(`/schedules/${encodeURIComponent(relay.name)}/run`, { method: 'POST' })
        .catch(() => {});
    }
    try {
      const unpublished = await withPostgres(cloud, async (db) => {
        const { rows } = await db.query<{ n: number }>(
          'select count(*)::int as n from outbox where published_at is null',
        );
        return rows[0]?.n ?? 0;
      });
      const bus = await cloud.control<{ pending: number; deadLettered: number; delivered: number }>(
        '/events',
      );
      let stock: number | undefined;
      if (check.productId) {
        stock = await withPostgres(cloud, async (db) => {
          const { rows } = await db.query<{ stock: number }>(
            'select stock from inventory where product_id = $1',
            [check.productId],
          );
          return rows[0]?.stock;
        });
      }
      const available = check.available ? await check.available() : stock;
      last = `outbox unpublished ${unpublished}, bus pending ${bus.pending}, dead letters ${bus.deadLettered}, catalog ${available} vs stock ${stock}`;
      if (unpublished === 0 && bus.pending === 0 && available === stock) return { held: true, detail: last };
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) return { held: false, detail: last };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export function withinBudget(samples: Sample[]): Verdict {
  if (samples.length === 0) return { held: undefined, detail: 'no request' };
  const slowest = samples.reduce((a, b) => (b.ms > a.ms ? b : a));
  const over = samples.filter((s) => s.ms > BUDGET_MS + BUDGET_SLACK_MS);
  return {
    held: over.length === 0,
    detail: `max ${(slowest.ms / 1000).toFixed(1)} s (${slowest.route} → ${slowest.status}), ${over.length} over`,
  };
}

/** Waits (up to `timeoutMs`) for the cloud's process tree to shrink under `boundMB`. */
export async function memoryReturns(
  cloud: CloudProcess,
  boundMB: number,
  timeoutMs = 60_000,
): Promise<Verdict> {
  const peak = cloud.rssMB();
  const deadline = Date.now() + timeoutMs;
  let now = peak;
  while (now > boundMB && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    now = cloud.rssMB();
  }
  return { held: now <= boundMB, detail: `${now} MB (after load ${peak} MB, bound ${boundMB} MB)` };
}
