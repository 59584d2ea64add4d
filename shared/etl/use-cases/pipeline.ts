/**
 * The pipeline's steps as use cases, one Lambda function each (`functions/etl/steps.ts`), chained by
 * the Step Functions state machine: Extract → Transform → Aggregate, a catch sending failures to
 * RecordFailure. Every step takes and returns the run, `{ runId, date }`, and records what it did.
 *
 * @module
 */
import { optionalEnv } from '../../config.ts';
import { postgresPool } from '../../platform/adapters/postgres.ts';
import { queryEngine } from '../adapters/engines.ts';
import { extractCatalog, extractOrders, windowEnd } from '../adapters/extract.ts';
import { assertDate } from '../adapters/lake.ts';
import {
  finishRun,
  getWatermark,
  recordStage,
  type StageStats,
  setWatermark,
  startRun,
} from '../adapters/state.ts';
import { aggregateDay } from './aggregate.ts';
import { transformDay } from './transform.ts';

/** The run a step works on: the execution's name and the day it processes. */
export interface PipelineRun {
  runId: string;
  date: string;
}

/** Yesterday (UTC): what the daily schedule processes when no date is given. */
export const yesterday = (now = new Date()) =>
  new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);

const sum = (parts: StageStats[], field: 'rowsRead' | 'rowsWritten' | 'bytesRead' | 'bytesWritten') =>
  parts.reduce((n, part) => n + (part[field] ?? 0), 0);

/**
 * Extract: the orders changed since the watermark (up to the settle window's end) and a catalog
 * snapshot, into the raw zone; moves the watermark. Starts the run's record.
 */
export async function extractRun(runId: string, input: { date?: string } = {}) {
  const run: PipelineRun = { runId, date: assertDate(input.date ?? yesterday()) };
  await startRun(run.runId, run.date);
  const started = performance.now();
  const after = await getWatermark('orders');
  const upTo = windowEnd(run.date, new Date(), Number(optionalEnv('ETL_SETTLE_SECONDS', '30')));
  const orders = await extractOrders(await postgresPool(), run.date, { after, upTo });
  const catalog = await extractCatalog(run.date, Number(optionalEnv('ETL_SCAN_SEGMENTS', '4')));
  if (orders.watermark !== after) await setWatermark('orders', orders.watermark, after);
  const parts = [orders.orders, orders.items, catalog];
  const stats = {
    rowsRead: sum(parts, 'rowsRead'),
    rowsWritten: sum(parts, 'rowsWritten'),
    bytesRead: sum(parts, 'bytesRead'),
    bytesWritten: sum(parts, 'bytesWritten'),
    durationMs: Math.round(performance.now() - started),
    orders: orders.orders.rowsRead,
    orderItems: orders.items.rowsRead,
    products: catalog.rowsRead,
    window: { after: after.updatedAt, upTo, watermark: orders.watermark.updatedAt },
    objects: [...(orders.orders.objects ?? []), ...(catalog.objects ?? [])],
  };
  await recordStage(run.runId, 'extract', stats);
  return { run, stats };
}

/** Transform: raw → curated Parquet for the run's day ({@link transformDay}), recorded on the run. */
export async function transformRun(run: PipelineRun) {
  const stats = await transformDay({ runId: run.runId, date: run.date });
  await recordStage(run.runId, 'transform', stats);
  return stats;
}

/** Aggregate: curated → analytics ({@link aggregateDay}); the run SUCCEEDED once it is done. */
export async function aggregateRun(run: PipelineRun) {
  const engine = await queryEngine();
  try {
    await recordStage(run.runId, 'aggregate', await aggregateDay(engine, run));
  } finally {
    await engine.close();
  }
  await finishRun(run.runId, 'SUCCEEDED');
}

/** The state machine's catch: the run is FAILED with the error of the step that gave up. */
export async function failRun(runId: string, error: { Error?: string; Cause?: string } = {}) {
  await finishRun(runId, 'FAILED', {
    error: error.Error ?? 'Unknown',
    cause: String(error.Cause ?? '').slice(0, 2000),
  });
}
