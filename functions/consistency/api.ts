import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { ExperimentListQuery } from '../../shared/api/schemas.ts';
import { identityFrom } from '../../shared/auth/identity.ts';
import { requestBudgetMs } from '../../shared/budget.ts';
import { optionalEnv } from '../../shared/config.ts';
import { notFound } from '../../shared/http/errors.ts';
import { parseBody, parseQuery, pathParameter } from '../../shared/http/request.ts';
import { json } from '../../shared/http/response.ts';
import { ExperimentRequest, resolveParameters } from '../../shared/lab/domain/parameters.ts';
import { experimentById, experimentPage, startExperiment } from '../../shared/lab/use-cases/requests.ts';
import { httpRoutes, logger } from '../../shared/middleware/http-handler.ts';

/**
 * `POST /consistency/experiments`: runs the experiment here and answers 201 with its report, or,
 * when it would outlast API Gateway's 29 seconds, queues it for the runner and answers 202.
 */
async function start(event: APIGatewayProxyEvent, context: Context) {
  const { userId, isAdmin } = identityFrom(event);
  const parameters = resolveParameters(parseBody(event, ExperimentRequest));
  const remainingMs = context.getRemainingTimeInMillis();
  const { status, body } = await startExperiment({
    parameters,
    userId,
    isAdmin,
    remainingMs,
    budgetMs: requestBudgetMs(remainingMs),
    target: optionalEnv('SHOP_TARGET', 'unknown') as string,
    onCleanupError: (error, experimentId) =>
      logger.warn('lab cleanup failed', { experimentId, error: error as Error }),
  });
  return json(status, body);
}

/** `GET /consistency/experiments`: past runs, newest first (optionally one scenario's), a page at a time. */
async function list(event: APIGatewayProxyEvent) {
  identityFrom(event);
  return json(200, await experimentPage(parseQuery(event, ExperimentListQuery)));
}

/** `GET /consistency/experiments/{experimentId}`: the report once done; its status until then. */
async function get(event: APIGatewayProxyEvent) {
  identityFrom(event);
  const experimentId = pathParameter(event, 'experimentId');
  const report = await experimentById(experimentId);
  if (!report) throw notFound(`Experiment ${experimentId} does not exist`);
  return json(200, report);
}

export const handler = httpRoutes('lab', {
  'POST /consistency/experiments': start,
  'GET /consistency/experiments': list,
  'GET /consistency/experiments/{experimentId}': get,
});
