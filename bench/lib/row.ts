/**
 * The contract between `npm run bench` (bench/run.ts) and its rows. One module per row under
 * `bench/rows/`, found by the runner, each exporting `row`:
 *
 * @example
 * // bench/rows/replication.ts
 * import { type BenchRow, goal, measure } from '../lib/row.ts';
 * export const row: BenchRow = {
 *   name: 'replication',
 *   title: 'Replication layer vs DynamoDB Local direct',
 *   order: 25,
 *   sharedCloud: true,
 *   async run(ctx) {
 *     const cloud = await ctx.cloud();                      // the shared local cloud (started once)
 *     const ours = await timeReplicatedWrites(cloud, ctx.quick ? 100 : 1000);
 *     const direct = await timeDirectWrites(cloud, ctx.quick ? 100 : 1000);   // same run, same machine
 *     return {
 *       measurements: [measure('PutItem p50', ours.p50, 'ms', 'PutItem straight to DynamoDB Local', direct.p50)],
 *       goals: [goal('replication overhead p50', ours.p50 / direct.p50, '<=', 1.5, '×')],
 *     };
 *   },
 * };
 *
 * Rules for a row: every ratio compares two things measured in this run on this machine (never a
 * stored number); say what the baseline is in its name; stop every process you start; use
 * `ctx.quick` for small sizes while developing.
 */
import type { RunningCloud } from './cloud.ts';

export interface BenchContext {
  /** `--quick`: small sizes, for development. Results are marked quick in the report. */
  readonly quick: boolean;
  /** Repository root. */
  readonly root: string;
  /** A scratch directory of this run inside the repository (removed at the end). */
  readonly scratch: string;
  /** The local cloud shared by the rows that need one: started on first call, stopped by the runner. */
  cloud(): Promise<RunningCloud>;
  /** Progress output (stderr), not part of the report. */
  log(message: string): void;
}

/** One line of a row: ours, and (usually) the baseline it is compared with, in the same unit. */
export interface Measurement {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** value ÷ baseline (a throughput ratio above 1 or a latency ratio below 1 is in our favour). */
  ratio?: number;
  /** Anything a reader needs to interpret the number (sizes, what was counted). */
  note?: string;
}

/** A goal of the issue, checked against a measured value. */
export interface Goal {
  name: string;
  value: number;
  op: '<=' | '>=';
  target: number;
  unit: string;
  pass: boolean;
  /** Why it was missed, or what the number means (shown after the line). */
  note?: string;
}

export interface RowResult {
  measurements: Measurement[];
  goals?: Goal[];
  notes?: string[];
}

export interface BenchRow {
  /** Identifier for `--only` (the file name without .ts, by convention). */
  name: string;
  title: string;
  /** Position in the report (ascending); rows without one come last. */
  order?: number;
  /** Uses `ctx.cloud()`: the runner stops the shared cloud after the last row that does. */
  sharedCloud?: boolean;
  run(ctx: BenchContext): Promise<RowResult>;
}

export function measure(
  name: string,
  value: number,
  unit: string,
  baselineName?: string,
  baselineValue?: number,
  note?: string,
): Measurement {
  const m: Measurement = { name, value, unit, ...(note && { note }) };
  if (baselineName !== undefined && baselineValue !== undefined) {
    m.baseline = { name: baselineName, value: baselineValue };
    m.ratio = baselineValue === 0 ? Number.NaN : value / baselineValue;
  }
  return m;
}

export function goal(
  name: string,
  value: number,
  op: '<=' | '>=',
  target: number,
  unit: string,
  note?: string,
): Goal {
  const pass = Number.isFinite(value) && (op === '<=' ? value <= target : value >= target);
  return { name, value, op, target, unit, pass, ...(note && { note }) };
}

/** How far a goal was missed, in percent of its target (0 when it passed). */
export function missedBy(g: Goal): number {
  if (g.pass) return 0;
  return (Math.abs(g.value - g.target) / Math.abs(g.target)) * 100;
}

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

export const median = (values: number[]) => percentile(values, 50);

/** Runs `work` `n` times with at most `concurrency` at once; resolves to the wall time in ms. */
export async function runConcurrently(
  n: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (let i = next++; i < n; i = next++) await work(i);
    }),
  );
  return performance.now() - started;
}
