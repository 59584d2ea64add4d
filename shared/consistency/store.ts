import type pg from 'pg';
import { postgresPool } from '../adapters/postgres.ts';
import type { ExperimentParameters, Scenario } from './parameters.ts';
import type { Environment, ExperimentReport, ExperimentStatus, ResultRow } from './report.ts';

/**
 * Experiments and their reports in Postgres (`consistency_experiments`): durable, and read back
 * strongly consistent, so a report is listed the moment it is stored.
 */

interface ExperimentRow {
  experiment_id: string;
  scenario: Scenario;
  status: ExperimentStatus;
  parameters: ExperimentParameters;
  environment: Environment | null;
  results: ResultRow[] | null;
  error: string | null;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLUMNS =
  'experiment_id, scenario, status, parameters, environment, results, error, requested_at, started_at, finished_at';

/** A run still `running` this long after it started has died (the runner has 15 minutes). */
export const RUNNING_FOR_TOO_LONG_MS = 16 * 60_000;

/**
 * The API's view of a stored experiment. A run left `running` past {@link RUNNING_FOR_TOO_LONG_MS}
 * is shown as failed: its function ended (timeout, crash) before it could say so.
 *
 * @example
 * toReport(row, new Date()).status; // 'done'
 */
export function toReport(row: ExperimentRow, now = new Date()): ExperimentReport {
  const died =
    row.status === 'running' &&
    row.started_at !== null &&
    now.getTime() - row.started_at.getTime() > RUNNING_FOR_TOO_LONG_MS;
  return {
    experimentId: row.experiment_id,
    scenario: row.scenario,
    status: died ? 'failed' : row.status,
    parameters: row.parameters,
    ...(row.environment ? { environment: row.environment } : {}),
    requestedAt: row.requested_at.toISOString(),
    ...(row.started_at ? { startedAt: row.started_at.toISOString() } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at.toISOString() } : {}),
    ...(row.results ? { results: row.results } : {}),
    ...(died ? { error: 'The run stopped without a report (function timeout or crash)' } : {}),
    ...(row.error ? { error: row.error } : {}),
  };
}

/**
 * Records a requested experiment (`queued`).
 *
 * @example
 * await recordRequest({ experimentId, parameters, requestedBy: 'alice' });
 */
export async function recordRequest(input: {
  experimentId: string;
  parameters: ExperimentParameters;
  requestedBy: string;
  db?: pg.Pool;
}): Promise<void> {
  const db = input.db ?? (await postgresPool());
  await db.query(
    `insert into consistency_experiments (experiment_id, scenario, status, parameters, requested_by)
     values ($1, $2, 'queued', $3, $4)`,
    [input.experimentId, input.parameters.scenario, JSON.stringify(input.parameters), input.requestedBy],
  );
}

/**
 * Moves a queued experiment to `running` and returns it, or undefined when it is not queued (already
 * taken by another delivery of the same event, or unknown): at-least-once delivery runs it once.
 *
 * @example
 * const claimed = await claim(experimentId);
 * if (!claimed) return; // someone else runs it
 */
export async function claim(experimentId: string, db?: pg.Pool): Promise<ExperimentReport | undefined> {
  const pool = db ?? (await postgresPool());
  const out = await pool.query<ExperimentRow>(
    `update consistency_experiments set status = 'running', started_at = now()
      where experiment_id = $1 and status = 'queued' returning ${COLUMNS}`,
    [experimentId],
  );
  const row = out.rows[0];
  return row ? toReport(row) : undefined;
}

/**
 * Stores a finished run: `done` with its report, or `failed` with the reason.
 *
 * @example
 * await finish(report);
 */
export async function finish(report: ExperimentReport, db?: pg.Pool): Promise<void> {
  const pool = db ?? (await postgresPool());
  await pool.query(
    `update consistency_experiments
        set status = $2, environment = $3, results = $4, error = $5,
            started_at = $6, finished_at = $7
      where experiment_id = $1`,
    [
      report.experimentId,
      report.status,
      report.environment ? JSON.stringify(report.environment) : null,
      report.results ? JSON.stringify(report.results) : null,
      report.error ?? null,
      report.startedAt ?? null,
      report.finishedAt ?? new Date().toISOString(),
    ],
  );
}

/**
 * One experiment, or undefined.
 *
 * @example
 * const report = await getExperiment(id);
 */
export async function getExperiment(experimentId: string): Promise<ExperimentReport | undefined> {
  const pool = await postgresPool();
  const out = await pool.query<ExperimentRow>(
    `select ${COLUMNS} from consistency_experiments where experiment_id = $1`,
    [experimentId],
  );
  const row = out.rows[0];
  return row ? toReport(row) : undefined;
}

/**
 * Past experiments, newest first, a keyset page at a time (`after` is the last of the previous page).
 *
 * @example
 * const { items, last } = await listExperiments({ limit: 20 });
 */
export async function listExperiments(options: {
  limit: number;
  scenario?: Scenario;
  after?: { requestedAt: string; experimentId: string };
}): Promise<{ items: ExperimentReport[]; last?: { requestedAt: string; experimentId: string } }> {
  const pool = await postgresPool();
  const params: unknown[] = [options.limit + 1];
  const where: string[] = [];
  if (options.scenario) {
    params.push(options.scenario);
    where.push(`scenario = $${params.length}`);
  }
  if (options.after) {
    params.push(options.after.requestedAt, options.after.experimentId);
    where.push(
      `(requested_at, experiment_id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`,
    );
  }
  const out = await pool.query<ExperimentRow & { requested_at_text: string }>(
    `select ${COLUMNS}, to_json(requested_at) #>> '{}' as requested_at_text from consistency_experiments
      ${where.length ? `where ${where.join(' and ')}` : ''}
      order by requested_at desc, experiment_id desc limit $1`,
    params,
  );
  const page = out.rows.slice(0, options.limit);
  const lastRow = out.rows.length > options.limit ? page[page.length - 1] : undefined;
  return {
    items: page.map((row) => toReport(row)),
    last: lastRow
      ? { requestedAt: lastRow.requested_at_text, experimentId: lastRow.experiment_id }
      : undefined,
  };
}
