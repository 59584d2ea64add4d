import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import {
  aggregateRun,
  extractRun,
  failRun,
  type PipelineRun,
  transformRun,
} from '../../shared/etl/use-cases/pipeline.ts';
import { logger } from '../../shared/middleware/http-handler.ts';

/**
 * The pipeline's steps, one Lambda function each, chained by the Step Functions state machine
 * (Extract → Transform → Aggregate; a catch sends failures to RecordFailure). Every step takes and
 * returns the run, `{ runId, date }`.
 */
const step = <I, O>(fn: (input: I) => Promise<O>) => middy(fn).use(injectLambdaContext(logger));

export const extract = step(async (event: { runId: string; input?: { date?: string } }) => {
  const { run, stats } = await extractRun(event.runId, event.input);
  logger.info('extracted', { ...run, ...stats });
  return run;
});

export const transform = step(async (run: PipelineRun): Promise<PipelineRun> => {
  const { rowsRead, rowsWritten } = await transformRun(run);
  logger.info('transformed', { ...run, rowsRead, rowsWritten });
  return run;
});

export const aggregate = step(async (run: PipelineRun): Promise<PipelineRun> => {
  await aggregateRun(run);
  return run;
});

/** The state machine's catch: the run is marked FAILED with the error of the step that gave up. */
export const recordFailure = step(
  async (event: PipelineRun & { error?: { Error?: string; Cause?: string } }) => {
    await failRun(event.runId, event.error);
    logger.error('ETL run failed', { runId: event.runId, error: event.error });
    return { runId: event.runId, status: 'FAILED' };
  },
);
