import type { ExperimentReport, ResultRow, VisibilityPoint } from './report.ts';

/**
 * Pools several t-visibility runs of one setting into one report, as if it had been one run with
 * all their trials: per read mode and delay, trials and stale reads add up, and the mean delay and
 * the PBS prediction are averaged weighted by trials (a prediction is null if any run's is). One
 * run must end within the runner's 15 minutes; 2,000 trials per delay can take longer on a small
 * machine, so `npm run consistency -- --repeat 2` runs it twice and pools the two.
 *
 * Latency percentiles cannot be pooled from percentiles: each is the highest of the runs'.
 *
 * @example
 * const pooled = poolVisibilityRuns([first, second]);
 * pooled.parameters.trials; // first.parameters.trials + second.parameters.trials
 */
export function poolVisibilityRuns(reports: ExperimentReport[]): ExperimentReport {
  const [first, ...rest] = reports;
  if (!first) throw new Error('poolVisibilityRuns: no runs to pool');
  for (const report of reports) {
    if (report.scenario !== 't-visibility')
      throw new Error(`poolVisibilityRuns: ${report.experimentId} is a ${report.scenario} run`);
    if (report.status !== 'done')
      throw new Error(`poolVisibilityRuns: ${report.experimentId} is ${report.status}`);
  }
  const results = (first.results ?? []).map((row) => {
    const same = rest.map((report) => {
      const match = report.results?.find((r) => r.store === row.store && r.strategy === row.strategy);
      if (!match)
        throw new Error(`poolVisibilityRuns: ${report.experimentId} has no ${row.store} ${row.strategy}`);
      return match;
    });
    return poolRows([row, ...same]);
  });
  return {
    ...first,
    experimentId: reports.map((r) => r.experimentId).join('+'),
    parameters: { ...first.parameters, trials: reports.reduce((sum, r) => sum + r.parameters.trials, 0) },
    finishedAt: reports.at(-1)?.finishedAt,
    results,
  };
}

function poolRows(rows: ResultRow[]): ResultRow {
  const sum = (f: (row: ResultRow) => number) => rows.reduce((total, row) => total + f(row), 0);
  const operations = sum((r) => r.operations);
  const anomalies = rows.some((r) => r.anomalies === null) ? null : sum((r) => r.anomalies ?? 0);
  const [first] = rows as [ResultRow, ...ResultRow[]];
  const pooled: ResultRow = {
    ...first,
    operations,
    anomalies,
    anomalyRate: anomalies === null || operations === 0 ? null : anomalies / operations,
    retries: sum((r) => r.retries),
    errors: sum((r) => r.errors),
    latencyMs: {
      p50: Math.max(...rows.map((r) => r.latencyMs.p50)),
      p95: Math.max(...rows.map((r) => r.latencyMs.p95)),
      p99: Math.max(...rows.map((r) => r.latencyMs.p99)),
    },
    curve: (first.curve ?? []).map((point) =>
      poolPoints(rows.map((r) => r.curve?.find((p) => p.tMs === point.tMs)).filter((p) => p !== undefined)),
    ),
  };
  if (first.capacityUnits)
    pooled.capacityUnits = {
      read: sum((r) => r.capacityUnits?.read ?? 0),
      write: sum((r) => r.capacityUnits?.write ?? 0),
    };
  return pooled;
}

function poolPoints(points: VisibilityPoint[]): VisibilityPoint {
  const trials = points.reduce((sum, p) => sum + p.trials, 0);
  const stale = points.reduce((sum, p) => sum + p.stale, 0);
  const weighted = (f: (p: VisibilityPoint) => number) =>
    trials === 0 ? 0 : points.reduce((sum, p) => sum + f(p) * p.trials, 0) / trials;
  const predicted = points.some((p) => p.predicted === null) ? null : weighted((p) => p.predicted ?? 0);
  return {
    tMs: (points[0] as VisibilityPoint).tMs,
    meanDelayMs: Math.round(weighted((p) => p.meanDelayMs) * 100) / 100,
    trials,
    stale,
    staleRate: trials === 0 ? 0 : Math.round((stale / trials) * 10_000) / 10_000,
    predicted: predicted === null ? null : Math.round(predicted * 10_000) / 10_000,
  };
}
