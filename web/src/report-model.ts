/**
 * Turns any consistency-lab report into chart specifications. The fields whose shape the lab
 * documents (`shared/lab/domain/report.ts`) get their own charts, first: `failover` (RPO and RTO per
 * failover, the write timeline with the fault marked), `availability` per region (partition) and the
 * t-visibility `curve` (measured vs predicted). Everything else without knowing the scenario: every
 * numeric field of the result rows becomes a bar chart (one bar per store and strategy), every object of
 * numbers a grouped bar chart (latency p50/p95/p99, capacity units…), every array of points a line
 * chart. Known fields get their titles and units; a field a future scenario adds shows up under its
 * own name. */
import type { FailoverRun, RegionAvailability, VisibilityPoint } from '../../shared/lab/domain/report.ts';

export interface ResultRow {
  store: string;
  strategy: string;
  [key: string]: unknown;
}

export interface Report {
  experimentId: string;
  scenario: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  parameters?: Record<string, unknown>;
  environment?: Record<string, unknown> | string;
  requestedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  results?: ResultRow[];
  error?: string;
  [key: string]: unknown;
}

export interface Datum {
  /** The bar's row: `store · strategy` (or the point's series for lines). */
  label: string;
  store: string;
  /** The bar's group within a row (p50/p95/p99, read/write…), or the line's name. */
  series: string;
  value: number;
  /** Lines only: the x value. */
  x?: number;
}

export interface ChartSpec {
  key: string;
  title: string;
  kind: 'bar' | 'grouped' | 'line';
  unit?: string;
  /** For lines: the x axis name. */
  xLabel?: string;
  percent?: boolean;
  data: Datum[];
  /** Lines only: one panel per `label` (a run each) instead of all lines in one. */
  facet?: boolean;
  /** Lines only: moments marked on the x axis (when a fault started), drawn as rules (in the panel `facet`). */
  events?: { x: number; label: string; facet?: string }[];
}

const KNOWN: Record<string, { title: string; unit?: string; percent?: boolean; order: number }> = {
  anomalies: { title: 'Anomalies', order: 0 },
  anomalyRate: { title: 'Anomaly rate', percent: true, order: 1 },
  latencyMs: { title: 'Latency', unit: 'ms', order: 2 },
  capacityUnits: { title: 'Capacity units (read / write)', unit: 'units', order: 3 },
  retries: { title: 'Retries', order: 4 },
  errors: { title: 'Errors', order: 5 },
  operations: { title: 'Operations', order: 6 },
  availability: { title: 'Availability', percent: true, order: 1.5 },
};

const SKIP = new Set(['store', 'strategy']);

export function rowLabel(row: ResultRow): string {
  return `${row.store} · ${row.strategy}`;
}

function humanize(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ');
  const unit = /Ms$/.test(key) ? ' (ms)' : '';
  const text = (unit ? words.replace(/ Ms$/, '') : words).toLowerCase();
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${unit}`;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumberRecord = (v: unknown): v is Record<string, number> =>
  !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).some(isNumber);
const isPoints = (v: unknown): v is Record<string, unknown>[] =>
  Array.isArray(v) &&
  v.length > 0 &&
  v.every((p) => p && typeof p === 'object' && Object.values(p).some(isNumber));

function meta(key: string) {
  const known = KNOWN[key];
  return {
    title: known?.title ?? humanize(key),
    unit: known?.unit ?? (/Ms$/.test(key) ? 'ms' : undefined),
    percent: known?.percent ?? /Rate$|Ratio$/.test(key),
    order: known?.order ?? 100,
  };
}

function lineData(
  points: Record<string, unknown>[],
  prefix: string,
  store: string,
): { data: Datum[]; xLabel: string } {
  const numericKeys = Object.keys(points[0] ?? {}).filter((k) => points.some((p) => isNumber(p[k])));
  const [xKey = 'x', ...yKeys] = numericKeys;
  const data: Datum[] = [];
  for (const p of points) {
    for (const y of yKeys) {
      const value = p[y];
      const x = p[xKey];
      if (isNumber(value) && isNumber(x))
        data.push({ label: prefix, store, series: prefix ? `${prefix} · ${y}` : y, value, x });
    }
  }
  return { data, xLabel: humanize(xKey) };
}

type Ordered = ChartSpec & { order: number };

/** One chart of `data`, or none when there is nothing to draw. */
const chart = (spec: Omit<Ordered, 'data'>, data: Datum[]): Ordered[] =>
  data.length ? [{ ...spec, data }] : [];

/** What `each` makes of every row whose `key` field has the shape `is` checks. */
function fromRows<T, U>(
  rows: ResultRow[],
  key: string,
  is: (v: unknown) => v is T,
  each: (v: T, row: ResultRow) => U[],
) {
  return rows.flatMap((row) => {
    const value = row[key];
    return is(value) ? each(value, row) : [];
  });
}

const isFailoverRuns = (v: unknown): v is FailoverRun[] =>
  Array.isArray(v) &&
  v.every((r) => r && typeof r === 'object' && isNumber(r.lost) && Array.isArray(r.timeline));

/**
 * `failover` (per replication mode, one entry per failover): RPO (acknowledged commits lost) and RTO
 * (the longest time without a commit) per failover, commit latency before and after, and the write
 * timeline — commits and failed commits per 100 ms, with the moment the fault started.
 */
function failoverCharts(rows: ResultRow[]): Ordered[] {
  const runs = fromRows(rows, 'failover', isFailoverRuns, (failovers, row) => {
    const several = failovers.length > 1;
    return failovers.map((run) => ({
      row,
      run,
      label: several ? `${rowLabel(row)} · failover ${run.trial}` : rowLabel(row),
      name: several ? `${row.strategy} · ${run.trial}` : row.strategy,
    }));
  });
  const bar = (value: (r: FailoverRun) => number) =>
    runs.map(({ row, run, label }) => ({ label, store: row.store, series: row.strategy, value: value(run) }));
  return [
    ...chart(
      { key: 'rpo', kind: 'bar', title: 'RPO: acknowledged commits lost', order: -3 },
      bar((r) => r.lost),
    ),
    ...chart(
      { key: 'rto', kind: 'bar', title: 'RTO: longest time without a commit', unit: 'ms', order: -2 },
      bar((r) => r.rtoMs),
    ),
    ...chart(
      {
        key: 'commit-latency',
        kind: 'grouped',
        title: 'Commit latency p50, before the failure and after the recovery',
        unit: 'ms',
        order: 2.1,
      },
      runs.flatMap(({ row, run, label }) => [
        { label, store: row.store, series: 'before', value: run.latencyBeforeMs },
        { label, store: row.store, series: 'after', value: run.latencyAfterMs },
      ]),
    ),
    ...chart(
      {
        key: 'timeline',
        kind: 'line',
        title: 'Write timeline: commits per 100 ms',
        xLabel: 'Time since the writers started (ms)',
        order: -1,
        facet: true,
        events: runs.map(({ run, name, label }) => ({
          x: run.faultAtMs,
          label: `fault (${name})`,
          facet: label,
        })),
      },
      runs.flatMap(({ row, run, label }) =>
        run.timeline.flatMap((p) => [
          { label, store: row.store, series: 'commits', value: p.commits, x: p.tMs },
          { label, store: row.store, series: 'failed commits', value: p.errors, x: p.tMs },
        ]),
      ),
    ),
  ];
}

const isRegions = (v: unknown): v is RegionAvailability[] =>
  Array.isArray(v) &&
  v.length > 0 &&
  v.every((r) => r && typeof r === 'object' && typeof r.region === 'string' && isNumber(r.availability));

/** `partition`: the share of requests that succeeded in each region while it was cut off. */
const availabilityCharts = (rows: ResultRow[]): Ordered[] =>
  chart(
    {
      key: 'availability',
      kind: 'grouped',
      title: 'Availability per region during the partition',
      percent: true,
      order: -1,
    },
    fromRows(rows, 'availability', isRegions, (regions, row) =>
      regions.map((r) => ({
        label: rowLabel(row),
        store: row.store,
        series: r.region,
        value: r.availability,
      })),
    ),
  );

const isCurve = (v: unknown): v is VisibilityPoint[] =>
  Array.isArray(v) &&
  v.length > 0 &&
  v.every((p) => p && typeof p === 'object' && isNumber(p.tMs) && isNumber(p.staleRate));

/** `t-visibility`: the stale-read probability at each delay, measured and as predicted (PBS). */
const curveCharts = (rows: ResultRow[]): Ordered[] =>
  chart(
    {
      key: 'curve',
      kind: 'line',
      title: 'Stale-read probability after a write, measured and predicted',
      xLabel: 'Delay after the write (ms)',
      percent: true,
      order: -1,
    },
    fromRows(rows, 'curve', isCurve, (curve, row) => {
      const point = (what: string, x: number, value: number) => ({
        label: rowLabel(row),
        store: row.store,
        series: `${rowLabel(row)} · ${what}`,
        value,
        x,
      });
      return curve.flatMap((p) => [
        point('measured', p.tMs, p.staleRate),
        ...(isNumber(p.predicted) ? [point('predicted', p.tMs, p.predicted)] : []),
      ]);
    }),
  );

/** Result fields with a known shape (the scenario's headline charts, first) that the generic rules below would misread (arrays of records). */
const SPECIAL: Record<string, (rows: ResultRow[]) => Ordered[]> = {
  failover: failoverCharts,
  availability: availabilityCharts,
  curve: curveCharts,
};

/** The charts for one report, known metrics first. */
export function chartsOf(report: Report): ChartSpec[] {
  const rows = report.results ?? [];
  const keys = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) if (!SKIP.has(k)) keys.add(k);
  const charts: Ordered[] = [];
  for (const key of Object.keys(SPECIAL)) {
    const special = keys.has(key) ? SPECIAL[key]?.(rows) : undefined;
    if (special?.length) {
      charts.push(...special);
      keys.delete(key);
    }
  }
  for (const key of keys) {
    const m = meta(key);
    const values = rows.map((r) => r[key]);
    if (values.some(isNumber)) {
      const data = rows.flatMap((r) =>
        isNumber(r[key])
          ? [{ label: rowLabel(r), store: r.store, series: key, value: r[key] as number }]
          : [],
      );
      charts.push({ key, kind: 'bar', data, ...m });
    } else if (values.some(isNumberRecord)) {
      const data = rows.flatMap((r) => {
        const v = r[key];
        return isNumberRecord(v)
          ? Object.entries(v)
              .filter(([, n]) => isNumber(n))
              .map(([series, value]) => ({ label: rowLabel(r), store: r.store, series, value }))
          : [];
      });
      charts.push({ key, kind: 'grouped', data, ...m });
    } else if (values.some(isPoints)) {
      const parts = rows.flatMap((r) =>
        isPoints(r[key]) ? [lineData(r[key] as Record<string, unknown>[], rowLabel(r), r.store)] : [],
      );
      charts.push({ key, kind: 'line', data: parts.flatMap((p) => p.data), xLabel: parts[0]?.xLabel, ...m });
    }
  }
  // Report-level series and figures a scenario may add (a failover timeline, RPO/RTO per mode…).
  const reserved = new Set([
    'experimentId',
    'scenario',
    'status',
    'parameters',
    'environment',
    'results',
    'requestedAt',
    'startedAt',
    'finishedAt',
    'error',
    'estimatedSeconds',
  ]);
  for (const [key, value] of Object.entries(report)) {
    if (reserved.has(key)) continue;
    const m = meta(key);
    if (isPoints(value)) {
      const { data, xLabel } = lineData(value, '', report.scenario);
      charts.push({ key, kind: 'line', data, xLabel, ...m });
    } else if (isNumberRecord(value)) {
      const data = Object.entries(value)
        .filter(([, n]) => isNumber(n))
        .map(([label, n]) => ({ label, store: report.scenario, series: key, value: n }));
      charts.push({ key, kind: 'bar', data, ...m });
    }
  }
  return charts
    .filter((c) => c.data.length > 0)
    .sort((a, b) => a.order - b.order)
    .map(({ order: _o, ...c }) => c);
}
