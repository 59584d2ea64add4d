import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  faultNow,
  getObject,
  lakeBuckets,
  listObjects,
  putObject,
  readParquet,
  runPipeline,
  snapshot,
  today,
  withLambdaFault,
} from './etl-helpers.ts';
import { api, control, createProduct, tokenFor, uniqueId } from './helpers.ts';

interface Order {
  orderId: string;
  status: string;
  region: string;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
}

/** An event of the local execution log (aws-local-stepfunctions' format). */
interface ExecutionEvent {
  type: string;
  state?: { name: string };
}

let buckets: { raw: string; curated: string; analytics: string };
let admin: string;
const settle = () => new Promise((r) => setTimeout(r, 1200)); // the extract's settle time is 1 s locally

beforeAll(async () => {
  buckets = await lakeBuckets();
  admin = await tokenFor('etl-admin', { admin: true });
});

async function placeOrder(region: string, lines: { productId: string; quantity: number }[]): Promise<Order> {
  const token = await tokenFor(uniqueId('etl-shopper'));
  for (const line of lines) {
    const put = await api(`/cart/items/${line.productId}`, {
      method: 'PUT',
      token,
      body: { quantity: line.quantity },
    });
    expect(put.status, put.text).toBe(200);
  }
  const response = await api<Order>('/orders', {
    method: 'POST',
    token,
    body: { region },
    headers: { 'idempotency-key': crypto.randomUUID() },
  });
  expect(response.status, response.text).toBe(201);
  return Object.assign(response.body, { token });
}

async function cancel(order: Order & { token?: string }) {
  const response = await api(`/orders/${order.orderId}/cancel`, { method: 'POST', token: order.token });
  expect(response.status, response.text).toBe(200);
}

/** daily_sales as the test computes it from the orders it placed (latest status of each). */
function expectedSales(orders: Order[], categoryOf: Map<string, string>) {
  const groups = new Map<
    string,
    { region: string; category: string; orders: Set<string>; units: number; revenue_cents: number }
  >();
  for (const order of orders.filter((o) => o.status === 'PLACED')) {
    for (const item of order.items) {
      const category = categoryOf.get(item.productId) as string;
      const key = `${order.region}|${category}`;
      const g = groups.get(key) ?? {
        region: order.region,
        category,
        orders: new Set(),
        units: 0,
        revenue_cents: 0,
      };
      g.orders.add(order.orderId);
      g.units += item.quantity;
      g.revenue_cents += item.quantity * item.unitPriceCents;
      groups.set(key, g);
    }
  }
  return [...groups.values()]
    .map((g) => ({
      dt: today(),
      region: g.region,
      category: g.category,
      orders: g.orders.size,
      units: g.units,
      revenue_cents: g.revenue_cents,
    }))
    .sort((a, b) => `${a.region}|${a.category}`.localeCompare(`${b.region}|${b.category}`));
}

async function dailySales(categories: string[]) {
  const rows = await readParquet(buckets.analytics, `daily_sales/dt=${today()}/part-00000.parquet`);
  return rows
    .filter((r) => categories.includes(String(r.category)))
    .sort((a, b) => `${a.region}|${a.category}`.localeCompare(`${b.region}|${b.category}`));
}

describe('data-lake ETL through the local state machine', () => {
  const categoryA = uniqueId('etl-cat-a');
  const categoryB = uniqueId('etl-cat-b');
  const categoryOf = new Map<string, string>();
  const orders: (Order & { token?: string })[] = [];
  let firstRunOrders: string[] = [];

  it('extracts, curates and aggregates seeded orders; daily_sales matches an independent computation', async () => {
    const p1 = await createProduct({ category: categoryA, priceCents: 1250 });
    const p2 = await createProduct({ category: categoryA, priceCents: 399 });
    const p3 = await createProduct({ category: categoryB, priceCents: 10_000 });
    for (const p of [p1, p2, p3]) {
      categoryOf.set(p.productId, p.category);
      const stock = await api(`/inventory/${p.productId}`, {
        method: 'PUT',
        token: admin,
        body: { stock: 1000 },
      });
      expect(stock.status).toBe(200);
    }
    orders.push(
      await placeOrder('eu', [
        { productId: p1.productId, quantity: 2 },
        { productId: p3.productId, quantity: 1 },
      ]),
    );
    orders.push(await placeOrder('eu', [{ productId: p2.productId, quantity: 5 }]));
    orders.push(
      await placeOrder('us', [
        { productId: p1.productId, quantity: 1 },
        { productId: p2.productId, quantity: 3 },
      ]),
    );
    const cancelled = await placeOrder('ap', [{ productId: p3.productId, quantity: 4 }]);
    await cancel(cancelled);
    orders.push({ ...cancelled, status: 'CANCELLED' });
    await settle();

    const run = await runPipeline(today());
    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(await dailySales([categoryA, categoryB])).toEqual(expectedSales(orders, categoryOf));

    // Cancelled orders are reported separately, placed ones counted.
    const cancellations = await readParquet(
      buckets.analytics,
      `cancellations/dt=${today()}/part-00000.parquet`,
    );
    expect(cancellations.find((r) => r.region === 'ap')?.cancelled_orders).toBeGreaterThanOrEqual(1);

    // Curated order lines are enriched with the catalog's category.
    const items = await readParquet(buckets.curated, `order_items/dt=${today()}/part-00000.parquet`);
    expect(items.filter((i) => i.product_id === p3.productId).every((i) => i.category === categoryB)).toBe(
      true,
    );

    const record = await api<{ status: string; stages: Record<string, { rowsRead: number }> }>(
      `/etl/runs/${run.runId}`,
      { token: admin },
    );
    expect(record.status, record.text).toBe(200);
    expect(record.body.status).toBe('SUCCEEDED');
    expect(Object.keys(record.body.stages).sort()).toEqual(['aggregate', 'extract', 'transform']);
    firstRunOrders = orders.map((o) => o.orderId);
  });

  it('extracts incrementally: the next run reads only new and changed orders, and a late cancel wins', async () => {
    const before = new Set(await listObjects(buckets.raw, `orders/dt=${today()}/`));
    const late = orders[0] as Order & { token?: string };
    await cancel(late);
    late.status = 'CANCELLED';
    const [first] = [...categoryOf.keys()];
    const fresh = await placeOrder('us', [{ productId: first as string, quantity: 7 }]);
    orders.push(fresh);
    await settle();

    const run = await runPipeline(today());
    expect(run.status, run.cause).toBe('SUCCEEDED');
    const added = (await listObjects(buckets.raw, `orders/dt=${today()}/`)).filter((k) => !before.has(k));
    expect(added).toHaveLength(1);
    const lines = gunzipSync(await getObject(buckets.raw, added[0] as string))
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { order_id: string; status: string });
    expect(lines.map((l) => l.order_id).sort()).toEqual([late.orderId, fresh.orderId].sort());
    expect(lines.find((l) => l.order_id === late.orderId)?.status).toBe('CANCELLED');
    expect(firstRunOrders).toContain(late.orderId);

    expect(await dailySales([categoryA, categoryB])).toEqual(expectedSales(orders, categoryOf));
  });

  it('is idempotent: re-running the day leaves the same keys with the same bytes', async () => {
    const prefixes = ['orders/', 'order_items/', 'products/'];
    const curatedBefore = await snapshot(buckets.curated, prefixes);
    const analyticsBefore = await snapshot(buckets.analytics, [
      'daily_sales/',
      'top_products/',
      'cancellations/',
    ]);
    const rawBefore = await snapshot(buckets.raw, [`orders/dt=${today()}/`, `catalog/dt=${today()}/`]);

    const run = await runPipeline(today());
    expect(run.status, run.cause).toBe('SUCCEEDED');

    expect(await snapshot(buckets.curated, prefixes)).toEqual(curatedBefore);
    expect(await snapshot(buckets.analytics, ['daily_sales/', 'top_products/', 'cancellations/'])).toEqual(
      analyticsBefore,
    );
    expect(await snapshot(buckets.raw, [`orders/dt=${today()}/`, `catalog/dt=${today()}/`])).toEqual(
      rawBefore,
    );
  });

  // Faults come from the local cloud, as FIS's aws:lambda:invocation-error on AWS (parameters as in
  // https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#aws-lambda-actions):
  // the step's invocation fails as a function error, and the state machine retries and catches it.
  it('a run whose transform cannot run publishes nothing; the re-run curates what it extracted, once', async () => {
    const prefixes = ['orders/', 'order_items/', 'products/'];
    const published = await snapshot(buckets.curated, prefixes);
    const [first] = [...categoryOf.keys()];
    orders.push(await placeOrder('eu', [{ productId: first as string, quantity: 1 }]));
    await settle();

    const failed = await withLambdaFault(
      { kind: 'lambda-invocation-error', function: 'EtlTransform', preventExecution: true, seconds: 300 },
      async (fault) => {
        const run = await runPipeline(today());
        // The first attempt and the definition's 2 retries, each failed without running.
        expect((await faultNow(fault.id))?.detail.invocationsHit).toBe(3);
        return run;
      },
    );
    expect(failed.status).toBe('FAILED');
    // Nothing was staged or published: the partitions are exactly what the last good run published.
    expect(await snapshot(buckets.curated, prefixes)).toEqual(published);
    const record = await api<{ status: string; error: { error: string } }>(`/etl/runs/${failed.runId}`, {
      token: admin,
    });
    expect(record.body).toMatchObject({ status: 'FAILED', error: { error: 'FIS.InvocationError' } });

    // The failed run's extract moved the watermark; the re-run's transform still reads the whole day.
    const rerun = await runPipeline(today());
    expect(rerun.status, rerun.cause).toBe('SUCCEEDED');
    const curatedOrders = await readParquet(buckets.curated, `orders/dt=${today()}/part-00000.parquet`);
    const ids = curatedOrders.map((o) => o.order_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(orders.at(-1)?.orderId);
    expect(await dailySales([categoryA, categoryB])).toEqual(expectedSales(orders, categoryOf));
    expect(await listObjects(buckets.curated, `_staging/${rerun.runId}/`)).toEqual([]);
  });

  it('a transform that ran but whose answer was lost is retried; the lake is byte-identical', async () => {
    const prefixes = ['orders/', 'order_items/', 'products/'];
    const curatedBefore = await snapshot(buckets.curated, prefixes);
    const run = await withLambdaFault(
      // preventExecution false: the handler runs (and publishes), then the invocation fails anyway.
      { kind: 'lambda-invocation-error', function: 'EtlTransform', preventExecution: false, count: 1 },
      async (fault) => {
        const result = await runPipeline(today());
        expect(await faultNow(fault.id)).toMatchObject({
          status: 'healed',
          healedBy: 'exhausted',
          detail: { invocationsHit: 1 },
        });
        return result;
      },
    );
    expect(run.status, run.cause).toBe('SUCCEEDED');
    const execution = await control<{ events: ExecutionEvent[] }>(
      `/executions/${encodeURIComponent(run.executionArn)}`,
    );
    const retried = execution.events.filter(
      (e) => e.type === 'StateRetried' && e.state?.name === 'Transform',
    );
    expect(retried).toHaveLength(1);
    // Transform ran twice on the same raw data: same keys, same bytes, no duplicates.
    expect(await snapshot(buckets.curated, prefixes)).toEqual(curatedBefore);
  });

  it('a step that keeps failing is retried, then the catch records the failure on the run', async () => {
    const run = await withLambdaFault(
      { kind: 'lambda-invocation-error', function: 'EtlAggregate', preventExecution: true, seconds: 300 },
      () => runPipeline(today()),
    );
    expect(run.status).toBe('FAILED');
    const execution = await control<{ events: ExecutionEvent[] }>(
      `/executions/${encodeURIComponent(run.executionArn)}`,
    );
    // Retried as the definition says (2 more attempts), then caught and recorded.
    const retries = execution.events.filter(
      (e) => e.type === 'StateRetried' && e.state?.name === 'Aggregate',
    );
    expect(retries).toHaveLength(2);
    expect(execution.events.some((e) => e.type === 'StateCaught' && e.state?.name === 'Aggregate')).toBe(
      true,
    );
    expect(execution.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'RecordFailure')).toBe(
      true,
    );
    const record = await api<{ status: string; error: { error: string; cause: string } }>(
      `/etl/runs/${run.runId}`,
      { token: admin },
    );
    expect(record.body).toMatchObject({ status: 'FAILED', error: { error: 'FIS.InvocationError' } });
  });

  it('quarantines corrupt raw records with their reason and keeps the valid ones', async () => {
    const day = '2020-01-01';
    const valid = {
      order_id: crypto.randomUUID(),
      region: 'eu',
      user_id: 'u1',
      status: 'PLACED',
      total_cents: 500,
      created_at: '2020-01-01T10:00:00.123456+00:00',
      updated_at: '2020-01-01T10:00:00.123456+00:00',
    };
    const lines = [
      JSON.stringify(valid),
      '{"order_id": "broken',
      JSON.stringify({ ...valid, order_id: crypto.randomUUID(), status: 'SHIPPED' }),
    ];
    await putObject(buckets.raw, `orders/dt=${day}/batch-manual.jsonl.gz`, gzipSync(`${lines.join('\n')}\n`));

    const run = await runPipeline(day);
    expect(run.status, run.cause).toBe('SUCCEEDED');
    const curated = await readParquet(buckets.curated, `orders/dt=${day}/part-00000.parquet`);
    expect(curated.map((o) => o.order_id)).toEqual([valid.order_id]);
    const rejected = gunzipSync(
      await getObject(buckets.curated, `quarantine/orders/dt=${day}/rejected.jsonl.gz`),
    )
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; line: number });
    expect(rejected.map((r) => [r.line, r.reason])).toEqual([
      [2, expect.stringMatching(/^invalid JSON/)],
      [3, 'status "SHIPPED" is unknown'],
    ]);
  });
});

describe('POST/GET /etl/runs', () => {
  it('starts a run through the API (admins only) and reports its status and counts', async () => {
    const user = await tokenFor('not-an-admin');
    expect((await api('/etl/runs', { method: 'POST', token: user, body: {} })).status).toBe(403);
    const started = await api<{ runId: string }>('/etl/runs', {
      method: 'POST',
      token: admin,
      body: { date: today() },
    });
    expect(started.status, started.text).toBe(202);
    let run: { status: string; stages: Record<string, unknown> } | undefined;
    for (let i = 0; i < 200; i++) {
      const got = await api<{ status: string; stages: Record<string, unknown> }>(
        `/etl/runs/${started.body.runId}`,
        { token: admin },
      );
      if (got.status === 200 && got.body.status !== 'RUNNING') {
        run = got.body;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run?.status).toBe('SUCCEEDED');
    const list = await api<{ runs: { runId: string }[] }>('/etl/runs', { token: admin });
    expect(list.body.runs.map((r) => r.runId)).toContain(started.body.runId);
  });
});
