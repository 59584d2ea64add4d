import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { z } from 'zod';
import { ExperimentListQuery } from '../../shared/api/schemas.ts';
import { identityFrom } from '../../shared/auth/identity.ts';
import { requestBudgetMs } from '../../shared/budget.ts';
import { optionalEnv } from '../../shared/config.ts';
import { CursorTimestamp, decodeCursor, encodeCursor } from '../../shared/http/cursor.ts';
import { badRequest, HttpError, notFound } from '../../shared/http/errors.ts';
import { parseBody, parseQuery, pathParameter } from '../../shared/http/request.ts';
import { json } from '../../shared/http/response.ts';
import { routes } from '../../shared/http/router.ts';
import { UUID } from '../../shared/ids.ts';
import { publishExperimentRequested } from '../../shared/lab/adapters/events.ts';
import {
  finish,
  getExperiment,
  LabBusy,
  listExperiments,
  recordRequest,
} from '../../shared/lab/adapters/store.ts';
import {
  ExperimentRequest,
  estimateDurationMs,
  INLINE_LIMIT_MS,
  MAX_RUN_MS,
  OPEN_CONCURRENCY,
  resolveParameters,
} from '../../shared/lab/domain/parameters.ts';
import { deadlineIn, runNow } from '../../shared/lab/use-cases/experiment.ts';
import { httpHandler, logger } from '../../shared/middleware/http-handler.ts';

const target = () => optionalEnv('SHOP_TARGET', 'unknown') as string;

/**
 * `POST /consistency/experiments`: runs the experiment here and answers 201 with its report, or,
 * when it would outlast API Gateway's 29 seconds, queues it for the runner and answers 202.
 */
async function startExperiment(event: APIGatewayProxyEvent, context: Context) {
  const { userId, isAdmin } = identityFrom(event);
  const parameters = resolveParameters(parseBody(event, ExperimentRequest));
  if (parameters.concurrency > OPEN_CONCURRENCY && !isAdmin) {
    throw new HttpError(403, 'FORBIDDEN', `Concurrency above ${OPEN_CONCURRENCY} needs the admin group`, [
      { path: 'body.concurrency', message: `must be at most ${OPEN_CONCURRENCY} unless you are an admin` },
    ]);
  }
  const estimatedMs = estimateDurationMs(parameters);
  if (estimatedMs > MAX_RUN_MS) {
    throw badRequest('This experiment would run too long', [
      {
        path: 'body',
        message: `would take about ${Math.ceil(estimatedMs / 60_000)} min (limit ${MAX_RUN_MS / 60_000} min): lower trials, stock, concurrency or thinkTimeMs`,
      },
    ]);
  }
  const experimentId = crypto.randomUUID();
  if (estimatedMs > INLINE_LIMIT_MS) {
    await recordRequest({ experimentId, parameters, requestedBy: userId });
    try {
      await publishExperimentRequested(experimentId);
    } catch (error) {
      await finish({
        experimentId,
        scenario: parameters.scenario,
        parameters,
        status: 'failed',
        requestedAt: new Date().toISOString(),
        error: 'The request could not be queued',
      });
      throw error;
    }
    return json(202, { experimentId, status: 'queued', estimatedSeconds: Math.ceil(estimatedMs / 1000) });
  }
  const remainingMs = context.getRemainingTimeInMillis();
  const report = await runNow({
    experimentId,
    parameters,
    requestedBy: userId,
    target: target(),
    deadline: deadlineIn(requestBudgetMs(remainingMs)),
    stopsAt: new Date(Date.now() + remainingMs),
    onCleanupError: (error) => logger.warn('lab cleanup failed', { experimentId, error: error as Error }),
  }).catch((error: unknown) => {
    if (error instanceof LabBusy) throw new HttpError(429, 'LAB_BUSY', error.message);
    throw error;
  });
  if (report.status === 'failed') {
    throw new HttpError(500, 'EXPERIMENT_FAILED', `Experiment ${experimentId} failed: ${report.error}`);
  }
  return json(201, report);
}

const Cursor = z.object({ t: CursorTimestamp, id: z.string().regex(UUID) });

/** `GET /consistency/experiments`: past runs, newest first (optionally one scenario's), a page at a time. */
async function listRuns(event: APIGatewayProxyEvent) {
  identityFrom(event);
  const query = parseQuery(event, ExperimentListQuery);
  const cursor = decodeCursor(query.cursor, Cursor);
  const page = await listExperiments({
    limit: query.limit,
    scenario: query.scenario,
    after: cursor && { requestedAt: cursor.t, experimentId: cursor.id },
  });
  const nextCursor = page.last
    ? encodeCursor({ t: page.last.requestedAt, id: page.last.experimentId })
    : null;
  return json(200, { items: page.items, nextCursor });
}

/** `GET /consistency/experiments/{experimentId}`: the report once done; its status until then. */
async function getRun(event: APIGatewayProxyEvent) {
  identityFrom(event);
  const experimentId = pathParameter(event, 'experimentId');
  const report = UUID.test(experimentId) ? await getExperiment(experimentId) : undefined;
  if (!report) throw notFound(`Experiment ${experimentId} does not exist`);
  return json(200, report);
}

export const handler = httpHandler(
  routes('lab', {
    'POST /consistency/experiments': startExperiment,
    'GET /consistency/experiments': listRuns,
    'GET /consistency/experiments/{experimentId}': getRun,
  }),
);
