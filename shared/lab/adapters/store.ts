import type pg from 'pg';
import { postgresPool } from '../../platform/adapters/postgres.ts';
import type { ExperimentParameters, Scenario } from '../domain/parameters.ts';
import type { Environment, ExperimentReport, ExperimentStatus, ResultRow } from '../domain/report.ts';

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
  deadline_at: Date | null;
}

const COLUMNS =
  'experiment_id, scenario, status, parameters, environment, results, error, requested_at, started_at, finished_at, deadline_at';

/** A run without a recorded deadline, still `running` this long after it started, has died (the runner has 15 minutes). */
export const RUNNING_FOR_TOO_LONG_MS = 16 * 60_000;

/** What a run that died says. */
const DIED = 'The run stopped without a report (function timeout or crash)';

/**
 * Postgres connections all running experiments may hold together (each holds concurrency + 2):
 * `LAB_MAX_CONNECTIONS`, default 68 — one run at concurrency 64, or several smaller ones — so the lab
 * cannot exhaust the database ("sorry, too many clients already") for the shop.
 */
export const labConnectionCap = () => Number(process.env.LAB_MAX_CONNECTIONS ?? '') || 68;

/** Connections a run holds. */
export const connectionsOf = (parameters: Pick<ExperimentParameters, 'concurrency'>) =>
  parameters.concurrency + 2;

/** The lab has no room for a run now: the connections of the runs in progress would pass the cap. */
export class LabBusy extends Error {
  override name = 'LabBusy';
}

/**
 * The API's view of a stored experiment. A run left `running` past {@link RUNNING_FOR_TOO_LONG_MS}
 * is shown as failed: its function ended (timeout, crash) before it could say so.
 *
 * @example
 * toReport(row, new Date()).status; // 'done'
 */
export function toReport(row: ExperimentRow, now = new Date()): ExperimentReport {
  const stopsAt =
    row.deadline_at?.getTime() ??
    (row.started_at ? row.started_at.getTime() + RUNNING_FOR_TOO_LONG_MS : Infinity);
  const died = row.status === 'running' && now.getTime() > stopsAt;
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
    ...(died ? { error: DIED } : {}),
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
 * Marks runs whose function has been stopped (`running` past their deadline) as failed and deletes
 * their lab rows: what a run killed by its timeout could not do itself. Returns their ids.
 *
 * @example
 * await sweepDeadRuns(pool);
 */
export async function sweepDeadRuns(db: pg.Pool | pg.PoolClient): Promise<string[]> {
  const dead = await db.query<{ experiment_id: string }>(
    `update consistency_experiments set status = 'failed', error = $1, finished_at = now()
      where status = 'running' and deadline_at < now() - interval '5 seconds' returning experiment_id`,
    [DIED],
  );
  const ids = dead.rows.map((r) => r.experiment_id);
  if (ids.length) {
    await db.query('delete from lab_counters where experiment_id = any($1::uuid[])', [ids]);
    await db.query('delete from lab_stock where experiment_id = any($1::uuid[])', [ids]);
  }
  return ids;
}

/**
 * Moves a queued experiment to `running` until `stopsAt` (when its function will be stopped) and
 * returns it, or undefined when it is not queued (already taken by another delivery of the same
 * event, or unknown): at-least-once delivery runs it once. Throws {@link LabBusy} when the runs in
 * progress and this one would hold more than {@link labConnectionCap} connections. Claims are
 * serialised by an advisory lock, so two claims cannot both take the last room.
 *
 * @example
 * const claimed = await claim(experimentId, { stopsAt: new Date(Date.now() + remainingMs) });
 * if (!claimed) return; // someone else runs it
 */
export async function claim(
  experimentId: string,
  options: { stopsAt: Date; db?: pg.Pool },
): Promise<ExperimentReport | undefined> {
  const pool = options.db ?? (await postgresPool());
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`select pg_advisory_xact_lock(hashtext('consistency-lab-claims'))`);
    await sweepDeadRuns(client);
    const wanted = await client.query<{ concurrency: number }>(
      `select (parameters->>'concurrency')::int as concurrency from consistency_experiments
        where experiment_id = $1 and status = 'queued'`,
      [experimentId],
    );
    const mine = wanted.rows[0];
    if (!mine) {
      await client.query('commit');
      return undefined;
    }
    const used = await client.query<{ n: string }>(
      `select coalesce(sum((parameters->>'concurrency')::int + 2), 0) as n from consistency_experiments
        where status = 'running'`,
    );
    const inUse = Number(used.rows[0]?.n ?? 0);
    if (inUse + connectionsOf(mine) > labConnectionCap()) {
      await client.query('commit');
      throw new LabBusy(
        `The lab's runs in progress hold ${inUse} of its ${labConnectionCap()} Postgres connections; this run needs ${connectionsOf(mine)}`,
      );
    }
    const out = await client.query<ExperimentRow>(
      `update consistency_experiments set status = 'running', started_at = now(), deadline_at = $2
        where experiment_id = $1 returning ${COLUMNS}`,
      [experimentId, options.stopsAt],
    );
    await client.query('commit');
    const row = out.rows[0];
    return row ? toReport(row) : undefined;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
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
  await sweepDeadRuns(pool);
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
  await sweepDeadRuns(pool);
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
