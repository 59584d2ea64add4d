import { describe, expect, it } from 'vitest';
import { ExperimentRequest, LIMITS, SCENARIOS } from '../../shared/lab/domain/parameters.ts';
import type {
  FailoverRun,
  ResultRow as LabRow,
  RegionAvailability,
  VisibilityPoint,
} from '../../shared/lab/domain/report.ts';
import { checkExperiment } from '../../web/src/lab-request.ts';
import { chartsOf, type Report, type ResultRow } from '../../web/src/report-model.ts';

describe('web console: the lab form checks a request as the API schema does', () => {
  const values = [undefined, -1, 0, 1, 1.5, 16, 64, 65, 1000, 1001, 10_000, 10_001, Number.NaN, '5'];
  const cases: Record<string, unknown>[] = [
    { scenario: 'nope' },
    { scenario: undefined },
    { scenario: 'oversell', concurrency: 16, extra: 1 },
  ];
  for (const scenario of SCENARIOS)
    for (const field of Object.keys(LIMITS))
      for (const value of values)
        cases.push({ scenario, ...(value === undefined ? {} : { [field]: value }) });

  it.each(cases)('%o', (body) => {
    const api = ExperimentRequest.safeParse(body);
    const form = checkExperiment(body);
    expect(form.ok).toBe(api.success);
    if (!api.success && !form.ok) {
      const apiFields = [
        ...new Set(
          api.error.issues.map((i) => String(i.path[0] ?? [...((i as { keys?: string[] }).keys ?? [])][0])),
        ),
      ];
      expect(Object.keys(form.errors).sort()).toEqual(apiFields.sort());
      // Range messages are the API's own words (they come back as `details` of the 400).
      for (const issue of api.error.issues) {
        const field = String(issue.path[0] ?? '');
        if (field in LIMITS) expect(form.errors[field]).toBe(issue.message);
      }
    }
  });
});

/** A result row typed as the lab reports it (shared/lab/domain/report.ts), so a change there breaks these. */
const labRow = (store: LabRow['store'], strategy: string, fields: Partial<LabRow> = {}): ResultRow => {
  const row: LabRow = {
    store,
    strategy,
    operations: 16,
    anomalies: 0,
    anomalyRate: 0,
    retries: 0,
    errors: 0,
    latencyMs: { p50: 10, p95: 20, p99: 30 },
    ...fields,
  };
  return { ...row };
};

/** A finished report of `scenario`. */
const done = (scenario: string, results: ResultRow[]): Report => ({
  experimentId: `${scenario}-1`,
  scenario,
  status: 'done',
  results,
});

const lostUpdate: Report = {
  experimentId: '0b1c6c7e-3a55-4a0e-9a32-6f2f4b9b2d11',
  scenario: 'lost-update',
  status: 'done',
  results: [
    labRow('dynamodb', 'naive read-modify-write', {
      anomalies: 15,
      anomalyRate: 0.94,
      latencyMs: { p50: 111, p95: 250, p99: 250 },
      capacityUnits: { read: 16, write: 16 },
    }),
    labRow('dynamodb', 'UpdateItem ADD', {
      latencyMs: { p50: 140, p95: 240, p99: 240 },
      capacityUnits: { read: 0, write: 16 },
    }),
    labRow('postgres', 'SERIALIZABLE + retry', { retries: 59, latencyMs: { p50: 62, p95: 236, p99: 236 } }),
  ],
};

describe('web console: charts of a lab report, whatever its scenario', () => {
  it('draws one anomaly bar per store and strategy, and three latency bars each', () => {
    const charts = chartsOf(lostUpdate);
    expect(charts.map((c) => c.key)).toEqual([
      'anomalies',
      'anomalyRate',
      'latencyMs',
      'capacityUnits',
      'retries',
      'errors',
      'operations',
    ]);
    const anomalies = charts.find((c) => c.key === 'anomalies');
    expect(anomalies?.kind).toBe('bar');
    expect(anomalies?.data.map((d) => [d.label, d.value])).toEqual([
      ['dynamodb · naive read-modify-write', 15],
      ['dynamodb · UpdateItem ADD', 0],
      ['postgres · SERIALIZABLE + retry', 0],
    ]);
    expect(charts.find((c) => c.key === 'latencyMs')?.data).toHaveLength(9);
    // Postgres has no capacity units: two rows × read/write.
    expect(charts.find((c) => c.key === 'capacityUnits')?.data).toHaveLength(4);
  });

  it('draws curves, timelines and per-region figures a future scenario reports, under their own names', () => {
    const report: Report = {
      experimentId: 'x',
      scenario: 't-visibility',
      status: 'done',
      results: [
        {
          store: 'dynamodb',
          strategy: 'GetItem (eventual)',
          availability: { eu: 1, us: 0.99 },
          curve: [
            { tMs: 0, measured: 0.33, predicted: 0.333 },
            { tMs: 10, measured: 0.2, predicted: 0.21 },
          ],
        },
      ],
      timeline: [
        { atMs: 0, writes: 10 },
        { atMs: 100, writes: 0 },
      ],
      rpo: { asynchronous: 3, synchronous: 0 },
    };
    const charts = chartsOf(report);
    const byKey = Object.fromEntries(charts.map((c) => [c.key, c]));
    expect(byKey.availability?.kind).toBe('grouped');
    expect(byKey.availability?.percent).toBe(true);
    expect(byKey.curve?.kind).toBe('line');
    expect(byKey.curve?.xLabel).toBe('T (ms)');
    expect(byKey.curve?.data.map((d) => d.series)).toEqual([
      'dynamodb · GetItem (eventual) · measured',
      'dynamodb · GetItem (eventual) · predicted',
      'dynamodb · GetItem (eventual) · measured',
      'dynamodb · GetItem (eventual) · predicted',
    ]);
    expect(byKey.timeline?.data).toHaveLength(2);
    expect(byKey.rpo?.data.map((d) => [d.label, d.value])).toEqual([
      ['asynchronous', 3],
      ['synchronous', 0],
    ]);
  });
});

describe('web console: the fault scenarios’ charts, from the shapes the lab reports', () => {
  const timeline = (buckets: number, outage: [number, number]) =>
    Array.from({ length: buckets }, (_, i) => ({
      tMs: i * 100,
      commits: i >= outage[0] && i < outage[1] ? 0 : 10,
      errors: i >= outage[0] && i < outage[1] ? 4 : 0,
    }));
  const run = (trial: number, lost: number, rtoMs: number, buckets: number): FailoverRun => ({
    trial,
    acknowledged: 900,
    lost,
    rtoMs,
    latencyBeforeMs: 7,
    latencyAfterMs: 4,
    timeline: timeline(buckets, [21, 35]),
    faultAtMs: 2008,
  });
  const row = (strategy: string, failover: FailoverRun[]): ResultRow =>
    labRow('postgres', strategy, {
      anomalies: failover.reduce((n, r) => n + r.lost, 0),
      errors: 44,
      failover,
    });

  it('failover: RPO and RTO bars per mode and failover, and a write timeline with the fault marked', () => {
    const charts = chartsOf(
      done('failover', [
        row('asynchronous', [run(1, 3, 1486, 89), run(2, 0, 1200, 80)]),
        row('synchronous', [run(1, 0, 1400, 90), run(2, 0, 1350, 85)]),
      ]),
    );
    const byKey = Object.fromEntries(charts.map((c) => [c.key, c]));
    // The failover runs are not misread as a curve of their numeric fields.
    expect(byKey.failover).toBeUndefined();
    expect(charts.slice(0, 3).map((c) => c.key)).toEqual(['rpo', 'rto', 'timeline']);
    expect(byKey.rpo?.data.map((d) => [d.label, d.value])).toEqual([
      ['postgres · asynchronous · failover 1', 3],
      ['postgres · asynchronous · failover 2', 0],
      ['postgres · synchronous · failover 1', 0],
      ['postgres · synchronous · failover 2', 0],
    ]);
    expect(byKey.rto?.unit).toBe('ms');
    expect(byKey.rto?.data.map((d) => d.value)).toEqual([1486, 1200, 1400, 1350]);
    expect(byKey['commit-latency']?.data).toHaveLength(8);
    const line = byKey.timeline;
    expect(line?.kind).toBe('line');
    // Commits and errors for every 100 ms bucket of every failover.
    expect(line?.data).toHaveLength(2 * (89 + 80 + 90 + 85));
    // One panel per failover, commits and failed commits in each.
    expect(line?.facet).toBe(true);
    expect([...new Set(line?.data.map((d) => d.label))]).toEqual([
      'postgres · asynchronous · failover 1',
      'postgres · asynchronous · failover 2',
      'postgres · synchronous · failover 1',
      'postgres · synchronous · failover 2',
    ]);
    expect(new Set(line?.data.map((d) => d.series))).toEqual(new Set(['commits', 'failed commits']));
    expect(
      line?.data.find(
        (d) =>
          d.label === 'postgres · asynchronous · failover 1' && d.series === 'failed commits' && d.x === 2200,
      )?.value,
    ).toBe(4);
    expect(line?.events).toEqual([
      { x: 2008, label: 'fault (asynchronous · 1)', facet: 'postgres · asynchronous · failover 1' },
      { x: 2008, label: 'fault (asynchronous · 2)', facet: 'postgres · asynchronous · failover 2' },
      { x: 2008, label: 'fault (synchronous · 1)', facet: 'postgres · synchronous · failover 1' },
      { x: 2008, label: 'fault (synchronous · 2)', facet: 'postgres · synchronous · failover 2' },
    ]);
  });

  it('failover with one failover per mode: one bar per mode, named by the mode alone', () => {
    const charts = chartsOf(
      done('failover', [row('asynchronous', [run(1, 2, 900, 10)]), row('synchronous', [run(1, 0, 800, 12)])]),
    );
    const rpo = charts.find((c) => c.key === 'rpo');
    expect(rpo?.data.map((d) => d.label)).toEqual(['postgres · asynchronous', 'postgres · synchronous']);
    const timelineChart = charts.find((c) => c.key === 'timeline');
    expect(timelineChart?.data).toHaveLength(2 * (10 + 12));
    expect(timelineChart?.events?.map((e) => e.label)).toEqual([
      'fault (asynchronous)',
      'fault (synchronous)',
    ]);
  });

  it('partition: availability per region and store, as a share', () => {
    const regions = (eu: number, us: number): RegionAvailability[] => [
      { region: 'eu', requests: 100, succeeded: eu, availability: eu / 100 },
      { region: 'us', requests: 100, succeeded: us, availability: us / 100 },
    ];
    const charts = chartsOf(
      done('partition', [
        labRow('dynamodb', 'global table, last writer wins', {
          availability: regions(100, 100),
          divergentReads: 10,
          readPairs: 10,
          convergenceMs: 890,
        }),
        labRow('postgres', 'single primary in eu', {
          availability: regions(100, 0),
          divergentReads: 0,
          readPairs: 0,
          convergenceMs: null,
        }),
      ]),
    );
    const availability = charts.find((c) => c.key === 'availability');
    expect(charts[0]?.key).toBe('availability');
    expect(availability?.kind).toBe('grouped');
    expect(availability?.percent).toBe(true);
    expect(availability?.data.map((d) => [d.label, d.series, d.value])).toEqual([
      ['dynamodb · global table, last writer wins', 'eu', 1],
      ['dynamodb · global table, last writer wins', 'us', 1],
      ['postgres · single primary in eu', 'eu', 1],
      ['postgres · single primary in eu', 'us', 0],
    ]);
    // A store that never converged has no bar, rather than a bar at zero.
    expect(charts.find((c) => c.key === 'convergenceMs')?.data.map((d) => d.store)).toEqual(['dynamodb']);
  });

  it('t-visibility: the stale-read rate measured and predicted at each delay, not every field of a point', () => {
    const curve: VisibilityPoint[] = [0, 10, 20].map((tMs, i) => ({
      tMs,
      meanDelayMs: tMs + 1.5,
      trials: 2000,
      stale: 600 - i * 200,
      staleRate: (600 - i * 200) / 2000,
      predicted: [0.3, 0.2, null][i] ?? null,
    }));
    const charts = chartsOf(
      done('t-visibility', [
        labRow('dynamodb', 'GetItem (eventual)', {
          operations: 6000,
          anomalies: 1200,
          anomalyRate: 0.2,
          curve,
        }),
      ]),
    );
    const line = charts.find((c) => c.key === 'curve');
    expect(line?.percent).toBe(true);
    expect(line?.data.map((d) => [d.series, d.x, d.value])).toEqual([
      ['dynamodb · GetItem (eventual) · measured', 0, 0.3],
      ['dynamodb · GetItem (eventual) · predicted', 0, 0.3],
      ['dynamodb · GetItem (eventual) · measured', 10, 0.2],
      ['dynamodb · GetItem (eventual) · predicted', 10, 0.2],
      ['dynamodb · GetItem (eventual) · measured', 20, 0.1],
    ]);
  });
});
