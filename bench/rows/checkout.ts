/**
 * Checkout throughput: `POST /orders` through the local gateway (authorizer, Lambda worker, cart read
 * from DynamoDB, the Postgres transaction, outbox relay) at concurrency 1, 8 and 32, against a bare
 * SQL loop doing the same transaction on the same Postgres with as many connections: claim the
 * Idempotency-Key, take the stock, insert the order and its line, read them back, write the two
 * outbox events. Carts are filled before the clock starts.
 */
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { call, loggedStages, type RunningCloud, TreeCpuMeter, treeCpuSeconds } from '../lib/cloud.ts';
import { type BenchRow, goal, measure, runConcurrently } from '../lib/row.ts';

const LEVELS = [1, 8, 32];

export const row: BenchRow = {
  name: 'checkout',
  title: 'POST /orders through the gateway vs the same transaction as a bare SQL loop',
  order: 20,
  sharedCloud: true,
  async run(ctx) {
    const cloud = await ctx.cloud();
    if (!cloud.databaseUrl) throw new Error('the shared cloud has no known DATABASE_URL');
    const admin = await cloud.token('bench-admin', true);
    const product = await call<{ productId: string }>(cloud.url, 'POST', '/products', {
      token: admin,
      body: { name: 'Bench checkout', category: 'bench', priceCents: 500, currency: 'EUR' },
      retries: 3,
    });
    await call(cloud.url, 'PUT', `/inventory/${product.productId}`, {
      token: admin,
      body: { stock: 10_000_000 },
      retries: 3,
    });
    const pool = new pg.Pool({ connectionString: cloud.databaseUrl, max: 32 });
    const measurements = [];
    const levels: Level[] = [];
    let retries = 0;
    try {
      for (const concurrency of LEVELS) {
        const n = (ctx.quick ? 8 : 40) * Math.max(1, Math.ceil(concurrency / 4));
        // `warm` more carts for untimed orders first: they start the function's workers (a cold init
        // of several seconds on a loaded machine is no part of the throughput).
        const warm = Math.min(concurrency, 8);
        const all = await Promise.all(
          Array.from({ length: n + warm }, (_, i) =>
            cloud.token(`bench-c${concurrency}-${process.pid}-${i}`),
          ),
        );
        const shoppers = all.slice(0, n);
        // Carts first (not timed), ramping up so that new workers start one after another.
        for (const [from, to, c] of [
          [0, 4, 1],
          [4, n + warm, 4],
        ] as const) {
          await runConcurrently(Math.max(0, Math.min(n + warm, to) - from), c, async (j) => {
            await call(cloud.url, 'PUT', `/cart/items/${product.productId}`, {
              token: all[from + j],
              body: { quantity: 1 },
              retries: 3,
            });
          });
        }
        await runConcurrently(warm, warm, async (i) => {
          await call(cloud.url, 'POST', '/orders', {
            token: all[n + i],
            body: { region: 'eu' },
            headers: { 'idempotency-key': `bench-warm-${process.pid}-${concurrency}-${i}` },
            expect: 201,
            retries: 6,
          });
        });
        // The warm orders' events start the consumers' workers (cart, catalog): let those cold starts
        // end too before the clock starts, as the orders function's did.
        await settled(cloud);
        const logsFrom = cloud.logs.length;
        const meter = new TreeCpuMeter(process.pid);
        const apiMs = await runConcurrently(n, concurrency, async (i) => {
          // A retry with the same Idempotency-Key cannot place a second order.
          await call(cloud.url, 'POST', '/orders', {
            token: shoppers[i],
            body: { region: 'eu' },
            headers: { 'idempotency-key': `bench-${process.pid}-${concurrency}-${i}` },
            expect: 201,
            retries: 2,
            onRetry: () => retries++,
          });
        });
        // The orders' events are consumed (cart, catalog) right after: their work counts too.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const cpuAfter = meter.read();
        const coldStarts: Record<string, number> = {};
        for (const l of cloud.logs.slice(logsFrom)) {
          if (l.type !== 'platform.initStart') continue;
          // `shop-dev-Services-OrdersApi48294D44` → `OrdersApi` (the construct's id, no CDK hash).
          const full = String((l.record as { functionName?: string }).functionName);
          const name = /([A-Za-z0-9]+?)(?:[0-9A-F]{8})?$/.exec(full.split('-').at(-1) ?? full)?.[1] ?? full;
          coldStarts[name] = (coldStarts[name] ?? 0) + 1;
        }
        const sqlMs = await runConcurrently(n, concurrency, (i) =>
          bareCheckout(pool, `bench-sql-${process.pid}-${concurrency}-${i}`, product.productId),
        );
        const cpuSql = meter.read();
        meter.stop();
        const level: Level = {
          concurrency,
          ours: (n / apiMs) * 1000,
          base: (n / sqlMs) * 1000,
          cpuMs: perOrder({}, cpuAfter, n),
          coldStarts,
          baseCpuMs: sumOf(perOrder(cpuAfter, cpuSql, n)),
          ...loggedStages(cloud.logs.slice(logsFrom), (l) => l.method === 'POST', /OrdersApi/),
        };
        levels.push(level);
        measurements.push(
          measure(
            `orders/s at concurrency ${concurrency}`,
            level.ours,
            'orders/s',
            'bare SQL loop, same transaction',
            level.base,
            `${n} orders each; CPU per order, all processes: ${sumOf(level.cpuMs).toFixed(0)} ms (${describeCpu(level.cpuMs)}), bare loop ${level.baseCpuMs.toFixed(1)} ms; ${describeColdStarts(level.coldStarts)}`,
          ),
        );
      }
    } finally {
      await pool.end();
    }
    const worst = levels.reduce((a, b) => (b.ours / b.base < a.ours / a.base ? b : a));
    return {
      measurements,
      notes: retries
        ? [`${retries} POST /orders retried after a 5xx (same Idempotency-Key; time included)`]
        : [],
      goals: [
        goal(
          'checkout throughput ÷ bare SQL (worst concurrency)',
          worst.ours / worst.base,
          '>=',
          0.5,
          '×',
          worst.ours / worst.base < 0.5 ? whyMissed(worst, levels.at(-1) ?? worst) : undefined,
        ),
      ],
    };
  },
};

/** One concurrency level: throughputs, CPU per order, and the p50s the local cloud logged. */
interface Level {
  concurrency: number;
  ours: number;
  base: number;
  /** CPU ms per order of each kind of process (bench/lib/cloud.ts `TreeCpuMeter`), API phase. */
  cpuMs: Record<string, number>;
  /** Lambda workers started (`platform.initStart`) while the orders ran, by function: cold starts under load. */
  coldStarts: Record<string, number>;
  baseCpuMs: number;
  /** p50 of the gateway's latency and of the orders function's duration (platform.report), ms. */
  gatewayMs?: number;
  functionMs?: number;
}

/** `3 Lambda cold starts meanwhile (CartConsumer 2, OrdersApi 1)`. */
function describeColdStarts(byFunction: Record<string, number>): string {
  const entries = Object.entries(byFunction).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((n, [, count]) => n + count, 0);
  const list = entries.map(([name, count]) => `${name} ${count}`).join(', ');
  return `${total} Lambda cold starts meanwhile${total ? ` (${list})` : ''}`;
}

function perOrder(before: Record<string, number>, after: Record<string, number>, n: number) {
  return Object.fromEntries(
    Object.entries(after).map(([kind, seconds]) => [kind, ((seconds - (before[kind] ?? 0)) * 1000) / n]),
  );
}

const sumOf = (cpu: Record<string, number>) => Object.values(cpu).reduce((a, b) => a + b, 0);

const describeCpu = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .filter(([, ms]) => ms >= 0.5)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, ms]) => `${kind === 'this process' ? 'bench client' : kind} ${ms.toFixed(0)}`)
    .join(', ');

/** Resolves once the local cloud's processes use less than a fifth of a core (at most 15 s). */
async function settled(cloud: RunningCloud): Promise<void> {
  const pid = cloud.child.pid as number;
  for (let waited = 0; waited < 15_000; waited += 250) {
    const before = treeCpuSeconds(pid);
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (treeCpuSeconds(pid) - before < 0.05) return;
  }
}

/**
 * Why the goal is missed, from what this run measured: the latency at the worst level, and the CPU
 * an order costs at `steady`, the level with the most orders (least start-up in its average).
 */
function whyMissed(level: Level, steady: Level): string {
  const cores = availableParallelism();
  const cpu = sumOf(steady.cpuMs);
  const latency = (level.concurrency * 1000) / level.ours;
  const inside =
    level.functionMs === undefined
      ? ''
      : ` (p50: the orders function ${level.functionMs.toFixed(0)} ms, the gateway ${level.gatewayMs?.toFixed(0)} ms)`;
  return (
    `at concurrency ${level.concurrency} an order takes ${latency.toFixed(0)} ms through the gateway${inside}, ` +
    `the bare transaction ${((level.concurrency * 1000) / level.base).toFixed(1)} ms: an order is also a Lambda hop, ` +
    'a strongly consistent cart Query and product BatchGetItem, the outbox relay with its PutEvents, and then two ' +
    `event consumers writing DynamoDB through the replication proxy. At concurrency ${steady.concurrency} an ` +
    `order costs ${cpu.toFixed(0)} CPU-ms across all processes (${describeCpu(steady.cpuMs)}), the bare ` +
    `loop's ${steady.baseCpuMs.toFixed(1)}: on ${cores} cores that alone caps checkout near ` +
    `${((cores * 1000) / cpu).toFixed(0)} orders/s, ${((cores * 1000) / cpu / (level.base * 0.5)).toFixed(2)}× ` +
    `what the goal asks at concurrency ${level.concurrency}`
  );
}

/** The checkout transaction of shared/orders/adapters/orders-db.ts `placeOrder`, statement for statement. */
async function bareCheckout(pool: pg.Pool, key: string, productId: string): Promise<void> {
  const client = await pool.connect();
  const orderId = crypto.randomUUID();
  try {
    await client.query('begin');
    const claimed = await client.query(
      `insert into order_requests (user_id, idempotency_key, request_hash, region, order_id)
       values ($1, $2, $3, $4, $5) on conflict do nothing`,
      ['bench-sql', key, 'hash', 'eu', orderId],
    );
    if (claimed.rowCount !== 1) throw new Error('key taken');
    const taken = await client.query<{ stock: number; version: string }>(
      `update inventory set stock = stock - $2, version = version + 1, updated_at = now()
        where product_id = $1 and stock >= $2 returning stock, version`,
      [productId, 1],
    );
    if (!taken.rows[0]) throw new Error('out of stock');
    await client.query(
      `insert into orders (order_id, region, user_id, status, total_cents, created_at, updated_at)
       values ($1, $2, $3, 'PLACED', $4, $5, $5) returning order_id, region, status, total_cents, created_at, updated_at`,
      [orderId, 'eu', 'bench-sql', 500, new Date()],
    );
    await client.query(
      `insert into order_items (region, order_id, product_id, quantity, unit_price_cents)
       select $1, $2, * from unnest($3::text[], $4::int[], $5::bigint[])`,
      ['eu', orderId, [productId], [1], [500]],
    );
    await client.query(
      `select order_id, product_id, quantity, unit_price_cents from order_items
        where order_id = any($1::uuid[]) order by product_id`,
      [[orderId]],
    );
    await client.query(
      // Marked published: the API's relay must not send these stand-in events to the bus.
      `insert into outbox (event_id, source, detail_type, detail, published_at)
       select *, now() from unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`,
      [
        [crypto.randomUUID(), crypto.randomUUID()],
        ['shop.orders', 'shop.inventory'],
        ['OrderPlaced', 'InventoryChanged'],
        [JSON.stringify({ orderId, bench: true }), JSON.stringify({ productId, bench: true })],
      ],
    );
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
