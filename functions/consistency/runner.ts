import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { optionalEnv } from '../../shared/config.ts';
import { ExperimentRequestedV1 } from '../../shared/lab/adapters/events.ts';
import { claim } from '../../shared/lab/adapters/store.ts';
import {
  deadlineIn,
  executeClaimed,
  RUNNER_CLEANUP_RESERVE_MS,
} from '../../shared/lab/use-cases/experiment.ts';
import { logger } from '../../shared/middleware/http-handler.ts';

/**
 * EventBridge target for `ConsistencyExperimentRequested`: runs an experiment the API accepted with
 * 202 and stores its report. Claiming it (`queued` → `running`) first makes a redelivered event a
 * no-op. A failed experiment is stored as `failed` and ends normally; only a failure to claim or
 * store throws, so EventBridge retries it.
 */
export const handler = middy(
  async (event: EventBridgeEvent<'ConsistencyExperimentRequested', unknown>, context: Context) => {
    const { experimentId } = ExperimentRequestedV1.parse(event.detail);
    // LabBusy (the lab's connection cap) throws: EventBridge retries the event later.
    const claimed = await claim(experimentId, {
      stopsAt: new Date(Date.now() + context.getRemainingTimeInMillis()),
    });
    if (!claimed) {
      logger.info('experiment not queued (already run, running, or unknown): nothing to do', {
        experimentId,
      });
      return;
    }
    const report = await executeClaimed(claimed, {
      target: optionalEnv('SHOP_TARGET', 'unknown') as string,
      deadline: deadlineIn(context.getRemainingTimeInMillis(), RUNNER_CLEANUP_RESERVE_MS),
      onCleanupError: (error) => logger.warn('lab cleanup failed', { experimentId, error: error as Error }),
    });
    logger.info('experiment finished', { experimentId, scenario: report.scenario, status: report.status });
  },
).use(injectLambdaContext(logger, { logEvent: false }));
