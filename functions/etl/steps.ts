import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { optionalEnv } from '../../shared/config.ts';
import { queryEngine } from '../../shared/etl/adapters/engines.ts';
import { extractCatalog, extractOrders, windowEnd } from '../../shared/etl/adapters/extract.ts';
import { type Fault, maybeCrash, maybeFail } from '../../shared/etl/adapters/faults.ts';
import { assertDate } from '../../shared/etl/adapters/lake.ts';
import {
  finishRun,
  getWatermark,
  recordStage,
  setWatermark,
  startRun,
} from '../../shared/etl/adapters/state.ts';
import { aggregateDay } from '../../shared/etl/use-cases/aggregate.ts';
import { transformDay } from '../../shared/etl/use-cases/transform.ts';
import { logger } from '../../shared/middleware/http-handler.ts';
import { postgresPool } from '../../shared/platform/adapters/postgres.ts';

/**
 * The pipeline's steps, one Lambda function each, chained by the Step Functions state machine
 * (Extract → Transform → Aggregate; a catch sends failures to RecordFailure). Every step takes and
 * returns the run's context, `{ runId, date, faults? }`, plus what it did.
 */
export interface RunContext {
  runId: string;
  date: string;
  faults?: Fault[];
}

/** Yesterday (UTC): what the daily schedule processes when no date is given. */
const yesterday = (now = new Date()) => new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);

const step = <I, O>(fn: (input: I) => Promise<O>) => middy(fn).use(injectLambdaContext(logger));

export const extract = step(
  async (event: { runId: string; input?: { date?: string; faults?: Fault[] } }): Promise<RunContext> => {
    const date = assertDate(event.input?.date ?? yesterday());
    const ctx: RunContext = { runId: event.runId, date, faults: event.input?.faults ?? [] };
    await startRun(ctx.runId, date);
    await maybeFail(ctx.runId, 'extract', ctx.faults);
    const started = performance.now();
    const after = await getWatermark('orders');
    const upTo = windowEnd(date, new Date(), Number(optionalEnv('ETL_SETTLE_SECONDS', '30')));
    const orders = await extractOrders(await postgresPool(), date, { after, upTo });
    const catalog = await extractCatalog(date, Number(optionalEnv('ETL_SCAN_SEGMENTS', '4')));
    if (orders.watermark !== after) await setWatermark('orders', orders.watermark, after);
    const stats = {
      rowsRead: orders.orders.rowsRead + orders.items.rowsRead + catalog.rowsRead,
      rowsWritten: orders.orders.rowsWritten + orders.items.rowsWritten + catalog.rowsWritten,
      bytesRead: (orders.orders.bytesRead ?? 0) + (orders.items.bytesRead ?? 0) + (catalog.bytesRead ?? 0),
      bytesWritten:
        (orders.orders.bytesWritten ?? 0) + (orders.items.bytesWritten ?? 0) + (catalog.bytesWritten ?? 0),
      durationMs: Math.round(performance.now() - started),
      orders: orders.orders.rowsRead,
      orderItems: orders.items.rowsRead,
      products: catalog.rowsRead,
      window: { after: after.updatedAt, upTo, watermark: orders.watermark.updatedAt },
      objects: [...(orders.orders.objects ?? []), ...(catalog.objects ?? [])],
    };
    await recordStage(ctx.runId, 'extract', stats);
    logger.info('extracted', { runId: ctx.runId, date, ...stats });
    return ctx;
  },
);

export const transform = step(async (ctx: RunContext): Promise<RunContext> => {
  await maybeFail(ctx.runId, 'transform', ctx.faults);
  const stats = await transformDay({
    runId: ctx.runId,
    date: ctx.date,
    beforePublish: () => maybeCrash(ctx.runId, 'transform', ctx.faults),
  });
  await recordStage(ctx.runId, 'transform', stats);
  logger.info('transformed', {
    runId: ctx.runId,
    date: ctx.date,
    rowsRead: stats.rowsRead,
    rowsWritten: stats.rowsWritten,
  });
  return ctx;
});

export const aggregate = step(async (ctx: RunContext): Promise<RunContext> => {
  await maybeFail(ctx.runId, 'aggregate', ctx.faults);
  const engine = await queryEngine();
  try {
    const stats = await aggregateDay(engine, { runId: ctx.runId, date: ctx.date });
    await recordStage(ctx.runId, 'aggregate', stats);
  } finally {
    await engine.close();
  }
  await finishRun(ctx.runId, 'SUCCEEDED');
  return ctx;
});

/** The state machine's catch: the run is marked FAILED with the error of the step that gave up. */
export const recordFailure = step(
  async (event: RunContext & { runId: string; error?: { Error?: string; Cause?: string } }) => {
    const runId = event.runId;
    await finishRun(runId, 'FAILED', {
      error: event.error?.Error ?? 'Unknown',
      cause: String(event.error?.Cause ?? '').slice(0, 2000),
    });
    logger.error('ETL run failed', { runId, error: event.error });
    return { runId, status: 'FAILED' };
  },
);
