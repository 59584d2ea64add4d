import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import type { FaultRecord } from '../../local/faults/types.ts';
import type { ExperimentReport } from '../../shared/lab/domain/report.ts';
import { api, control, createProduct, eventually, tokenFor, uniqueId } from './helpers.ts';

/*
 * The failover scenario (issue 12) on the local cloud: the lab starts the failover experiment through
 * the FIS API the local cloud serves; the primary is SIGKILLed, the standby promoted, a new standby
 * built, and the shop's own pool reconnects through the endpoint that followed the promotion.
 * Afterwards the API must still take and serve orders on the promoted primary.
 */

const replicated = inject('replication').model !== 'off';

async function runFailover(): Promise<ExperimentReport> {
  const token = await tokenFor('failover-tester');
  const started = await api<{ experimentId: string }>('/consistency/experiments', {
    method: 'POST',
    token,
    body: { scenario: 'failover', trials: 1, concurrency: 4 },
  });
  expect(started.status, started.text).toBe(202);
  let report: ExperimentReport | undefined;
  await eventually(
    async () => {
      // 503 while there is no primary: the API says so, and the next poll goes through.
      const polled = await api<ExperimentReport>(`/consistency/experiments/${started.body.experimentId}`, {
        token,
      });
      expect(polled.status).toBe(200);
      expect(['done', 'failed']).toContain(polled.body.status);
      report = polled.body;
    },
    { timeoutMs: 420_000, intervalMs: 2_000 },
  );
  return report as ExperimentReport;
}

describe.runIf(replicated)('failover (Postgres primary lost, standby promoted)', () => {
  let report: ExperimentReport;

  it('reports RPO, RTO and latency for asynchronous and synchronous replication', async () => {
    report = await runFailover();
    expect(report.status, report.error).toBe('done');
    const rows = Object.fromEntries((report.results ?? []).map((row) => [row.strategy, row]));
    expect(Object.keys(rows).sort()).toEqual(['asynchronous', 'synchronous']);
    for (const row of Object.values(rows)) {
      expect(row.failover).toHaveLength(1);
      const run = row.failover?.[0];
      expect(run?.acknowledged).toBeGreaterThan(0);
      expect(run?.lost).toBe(row.anomalies);
      // Writes could not commit for a while: the primary was gone until the promotion.
      expect(run?.rtoMs).toBeGreaterThan(0);
      expect(run?.timeline.some((bucket) => bucket.commits === 0)).toBe(true);
      // The writers went on after the promotion.
      expect(run?.latencyAfterMs).toBeGreaterThan(0);
    }
    // Synchronous replication: a commit is acknowledged only once the standby has its WAL.
    expect(rows.synchronous?.anomalies).toBe(0);
    expect(rows.asynchronous?.anomalies).toBeGreaterThanOrEqual(0);
    expect(report.environment?.postgres).toMatch(/standby/);
  }, 480_000);

  it('logged the faults, each healed', async () => {
    const { faults } = await control<{ faults: FaultRecord[] }>('/faults');
    for (const kind of ['kill-primary', 'promote', 'rebuild-standby', 'synchronous-replication', 'lag']) {
      const mine = faults.filter((f) => f.kind === kind);
      expect(mine.length, kind).toBeGreaterThan(0);
      expect(mine.every((f) => f.status === 'healed')).toBe(true);
    }
  });

  it('runs the shop on the promoted primary: orders are taken and listed', async () => {
    const product = await createProduct({ priceCents: 1234 });
    const admin = await tokenFor('inventory-admin', { admin: true });
    expect(
      (await api(`/inventory/${product.productId}`, { method: 'PUT', token: admin, body: { stock: 3 } }))
        .status,
    ).toBe(200);
    const token = await tokenFor(uniqueId('after-failover'));
    expect(
      (await api(`/cart/items/${product.productId}`, { method: 'PUT', token, body: { quantity: 2 } })).status,
    ).toBe(200);
    const placed = await api<{ orderId: string; totalCents: number }>('/orders', {
      method: 'POST',
      token,
      body: { region: 'eu' },
      headers: { 'idempotency-key': uniqueId('key') },
    });
    expect(placed.status, placed.text).toBe(201);
    expect(placed.body.totalCents).toBe(2468);
    const history = await api<{ items: { orderId: string }[] }>('/orders', { token });
    expect(history.status).toBe(200);
    expect(history.body.items.map((o) => o.orderId)).toContain(placed.body.orderId);
    // The order is on the server the endpoint leads to, which is no longer in recovery.
    const db = new pg.Client({ connectionString: inject('endpoints').databaseUrl });
    await db.connect();
    try {
      const row = await db.query(
        'select pg_is_in_recovery() as standby, count(*)::int as n from orders where order_id = $1',
        [placed.body.orderId],
      );
      expect(row.rows[0]).toEqual({ standby: false, n: 1 });
    } finally {
      await db.end();
    }
  });

  it('has a new standby streaming from the promoted primary', async () => {
    await eventually(async () => {
      const standby = new pg.Client({ connectionString: inject('endpoints').databaseReaderUrl });
      await standby.connect();
      try {
        const out = await standby.query(
          'select pg_is_in_recovery() as standby, status from pg_stat_wal_receiver',
        );
        expect(out.rows[0]).toEqual({ standby: true, status: 'streaming' });
      } finally {
        await standby.end();
      }
    });
  });
});

describe.runIf(replicated)('partition (CAP): eu and us cut apart', () => {
  it('keeps DynamoDB available in both regions and loses updates; Postgres refuses us and loses none', async () => {
    const token = await tokenFor('partition-tester');
    const response = await api<ExperimentReport>('/consistency/experiments', {
      method: 'POST',
      token,
      body: { scenario: 'partition', seconds: 3 },
    });
    expect(response.status, response.text).toBe(201);
    const rows = Object.fromEntries((response.body.results ?? []).map((row) => [row.store, row]));
    const availability = (store: string, region: string) =>
      rows[store]?.availability?.find((a) => a.region === region);
    for (const region of ['eu', 'us']) {
      expect(availability('dynamodb', region)?.requests).toBeGreaterThan(0);
      expect(availability('dynamodb', region)?.availability).toBeGreaterThanOrEqual(0.99);
    }
    // Both regions updated the item while apart: last writer wins keeps one side's history.
    expect(rows.dynamodb?.anomalies).toBeGreaterThan(0);
    expect(rows.dynamodb?.convergenceMs).not.toBeNull();
    expect(availability('postgres', 'eu')?.availability).toBe(1);
    expect(availability('postgres', 'us')?.availability).toBeLessThan(1);
    expect(rows.postgres?.anomalies).toBe(0);
    expect(rows.postgres?.convergenceMs).not.toBeNull();
    expect(response.body.environment?.note).toMatch(/last writer wins/);
    // The partition was a fault of the local cloud, healed and logged.
    const { faults } = await control<{ faults: FaultRecord[] }>('/faults');
    const cut = faults.filter((f) => f.kind === 'partition' && f.params.link === 'regions');
    expect(cut.length).toBeGreaterThanOrEqual(2);
    expect(cut.every((f) => f.status === 'healed')).toBe(true);
  }, 120_000);
});
