/**
 * Turns any consistency-lab report into chart specifications, without knowing its scenario: every
 * numeric field of the result rows becomes a bar chart (one bar per store and strategy), every object of
 * numbers a grouped bar chart (latency p50/p95/p99, capacity units, availability per region…), every
 * array of points a line chart (e.g. a t-visibility curve, a failover write timeline). Known fields get
 * their titles and units; a field a future scenario adds shows up under its own name.
 */
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

/** The charts for one report, known metrics first. */
export function chartsOf(report: Report): ChartSpec[] {
  const rows = report.results ?? [];
  const keys = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) if (!SKIP.has(k)) keys.add(k);
  const charts: (ChartSpec & { order: number })[] = [];
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
