import type { APIGatewayProxyEvent } from 'aws-lambda';
import { EtlRunListQuery, StartEtlRun } from '../../shared/api/schemas.ts';
import { requireAdmin } from '../../shared/auth/identity.ts';
import { requireEnv } from '../../shared/config.ts';
import { startPipeline } from '../../shared/etl/adapters/sfn.ts';
import { getRun, listRuns } from '../../shared/etl/adapters/state.ts';
import { badRequest, notFound } from '../../shared/http/errors.ts';
import { parseBody, parseQuery, pathParameter } from '../../shared/http/request.ts';
import { json } from '../../shared/http/response.ts';
import { httpRoutes } from '../../shared/middleware/http-handler.ts';

/** `POST /etl/runs` (admin): starts the state machine for a day (default yesterday); 202 with the run id. */
async function start(event: APIGatewayProxyEvent) {
  requireAdmin(event);
  const input = parseBody(event, StartEtlRun);
  const { runId, executionArn } = await startPipeline(requireEnv('ETL_STATE_MACHINE_ARN'), input);
  return json(
    202,
    { runId, date: input.date, executionArn, status: 'RUNNING' },
    { location: `/etl/runs/${runId}` },
  );
}

/** `GET /etl/runs` (admin): the latest runs, newest first. */
async function list(event: APIGatewayProxyEvent) {
  requireAdmin(event);
  const { limit } = parseQuery(event, EtlRunListQuery);
  return json(200, { runs: await listRuns(limit) });
}

/** `GET /etl/runs/{runId}` (admin): status and per-stage counts. */
async function get(event: APIGatewayProxyEvent) {
  requireAdmin(event);
  const runId = pathParameter(event, 'runId');
  // Run ids are execution names (at most 80 characters); a longer key would exceed DynamoDB's limits.
  if (runId.length > 80) {
    throw badRequest('The run id is invalid', [
      { path: 'path.runId', message: 'must be at most 80 characters' },
    ]);
  }
  const run = await getRun(runId);
  if (!run) throw notFound(`No ETL run ${runId} (it appears once its first step has started)`);
  return json(200, run);
}

export const handler = httpRoutes('etl', {
  'POST /etl/runs': start,
  'GET /etl/runs': list,
  'GET /etl/runs/{runId}': get,
});
