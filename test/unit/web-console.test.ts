import { describe, expect, it } from 'vitest';
import { ExperimentRequest, LIMITS, SCENARIOS } from '../../shared/lab/domain/parameters.ts';
import { checkExperiment } from '../../web/src/lab-request.ts';
import { chartsOf, type Report } from '../../web/src/report-model.ts';

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

const lostUpdate: Report = {
  experimentId: '0b1c6c7e-3a55-4a0e-9a32-6f2f4b9b2d11',
  scenario: 'lost-update',
  status: 'done',
  results: [
    {
      store: 'dynamodb',
      strategy: 'naive read-modify-write',
      operations: 16,
      anomalies: 15,
      anomalyRate: 0.94,
      retries: 0,
      errors: 0,
      latencyMs: { p50: 111, p95: 250, p99: 250 },
      capacityUnits: { read: 16, write: 16 },
    },
    {
      store: 'dynamodb',
      strategy: 'UpdateItem ADD',
      operations: 16,
      anomalies: 0,
      anomalyRate: 0,
      retries: 0,
      errors: 0,
      latencyMs: { p50: 140, p95: 240, p99: 240 },
      capacityUnits: { read: 0, write: 16 },
    },
    {
      store: 'postgres',
      strategy: 'SERIALIZABLE + retry',
      operations: 16,
      anomalies: 0,
      anomalyRate: 0,
      retries: 59,
      errors: 0,
      latencyMs: { p50: 62, p95: 236, p99: 236 },
    },
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
