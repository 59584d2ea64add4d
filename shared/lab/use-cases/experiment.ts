import { optionalEnv } from '../../config.ts';
import { hasReader, readerPool } from '../../platform/adapters/postgres-reader.ts';
import { lazyPool, type RunContext } from '../adapters/context.ts';
import { deleteLabRows } from '../adapters/lab-db.ts';
import { LabKeys } from '../adapters/lab-table.ts';
import { failover } from '../adapters/scenarios/failover.ts';
import { lostUpdate } from '../adapters/scenarios/lost-update.ts';
import { oversell } from '../adapters/scenarios/oversell.ts';
import { partition } from '../adapters/scenarios/partition.ts';
import { projectionLag } from '../adapters/scenarios/projection-lag.ts';
import { readAfterWrite } from '../adapters/scenarios/read-after-write.ts';
import { tVisibility } from '../adapters/scenarios/t-visibility.ts';
import { claim, finish, LabBusy, recordRequest } from '../adapters/store.ts';
import { Deadline } from '../domain/concurrency.ts';
import type { ExperimentParameters, Scenario } from '../domain/parameters.ts';
import {
  type ExperimentReport,
  environmentFor,
  faultNote,
  type ReplicationFacts,
  type ResultRow,
} from '../domain/report.ts';

/** The report of a request not yet run. */
const queuedReport = (input: {
  experimentId: string;
  parameters: ExperimentParameters;
}): ExperimentReport => ({
  experimentId: input.experimentId,
  scenario: input.parameters.scenario,
  status: 'queued',
  parameters: input.parameters,
  requestedAt: new Date().toISOString(),
});

const SCENARIO_RUNNERS: Record<Scenario, (ctx: RunContext) => Promise<ResultRow[]>> = {
  'read-after-write': readAfterWrite,
  'lost-update': lostUpdate,
  oversell,
  'projection-lag': projectionLag,
  't-visibility': tVisibility,
  failover,
  partition,
};

/** The replica lag model the environment states (`REPLICATION_MODEL`), if any. */
const replicationModel = () => optionalEnv('REPLICATION_MODEL');

/** What the report's `environment` says about replicas: the stated model, and whether the reader is a standby. */
async function replicationFacts(): Promise<ReplicationFacts> {
  let postgresReplica = false;
  if (hasReader()) {
    try {
      const out = await (await readerPool()).query<{ standby: boolean }>(
        'select pg_is_in_recovery() as standby',
      );
      postgresReplica = out.rows[0]?.standby === true;
    } catch {
      postgresReplica = false; // the report says "no separate reader" rather than failing the run
    }
  }
  return { model: replicationModel(), postgresReplica };
}

/** Time kept back from the function's remaining time for cleanup and storing the report (API path). */
export const CLEANUP_RESERVE_MS = 5_000;
/** The runner's runs can be 50 times longer, with as many more lab items to delete. */
export const RUNNER_CLEANUP_RESERVE_MS = 60_000;

/**
 * Runs one experiment on its own keys and rows and cleans up after it, whatever happens: the lab
 * items it wrote (DynamoDB), its rows (Postgres), its pool. Workers stop starting operations at
 * `deadline` (those left count as errors), so cleanup fits in the function's time.
 *
 * @example
 * const results = await runScenario(id, parameters, new Deadline(Date.now() + 20_000));
 */
export async function runScenario(
  experimentId: string,
  parameters: ExperimentParameters,
  deadline: Deadline,
  onCleanupError: (error: unknown) => void = () => {},
): Promise<ResultRow[]> {
  const keys = new LabKeys(experimentId);
  const db = lazyPool(parameters.concurrency, deadline);
  const reader = lazyPool(parameters.concurrency, deadline, 'reader');
  try {
    return await SCENARIO_RUNNERS[parameters.scenario]({
      experimentId,
      parameters,
      keys,
      deadline,
      pool: db.pool,
      readerPool: reader.pool,
      replicationModel: replicationModel(),
    });
  } finally {
    await reader.end().catch(onCleanupError);
    await keys.deleteAll(deadline.cleanupBy).catch(onCleanupError);
    await db
      .opened()
      ?.then((pool) => deleteLabRows(pool, experimentId))
      .catch(onCleanupError);
    await db.end().catch(onCleanupError);
  }
}

/**
 * Runs a claimed experiment and stores its report: `done` with the results, or `failed` with the
 * reason. Returns what was stored.
 *
 * @example
 * const report = await executeClaimed(claimed, { target: 'local', deadline, log });
 */
export async function executeClaimed(
  claimed: ExperimentReport,
  options: { target: string; deadline: Deadline; onCleanupError?: (error: unknown) => void },
): Promise<ExperimentReport> {
  const environment = environmentFor(options.target, await replicationFacts());
  const note = faultNote(claimed.scenario, options.target);
  if (note) environment.note = `${environment.note} ${note}`;
  const startedAt = claimed.startedAt ?? new Date().toISOString();
  const ended = (outcome: Pick<ExperimentReport, 'status' | 'results' | 'error'>): ExperimentReport => ({
    ...claimed,
    ...outcome,
    environment,
    startedAt,
    finishedAt: new Date().toISOString(),
  });
  let report: ExperimentReport;
  try {
    const results = await runScenario(
      claimed.experimentId,
      claimed.parameters,
      options.deadline,
      options.onCleanupError,
    );
    report = ended({ status: 'done', results });
  } catch (error) {
    report = ended({
      status: 'failed',
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
  await finish(report);
  return report;
}

/**
 * The API's synchronous path: records the request, claims it at once and runs it.
 *
 * @example
 * const report = await runNow({ experimentId, parameters, requestedBy: 'alice', target: 'local', deadline });
 */
export async function runNow(input: {
  experimentId: string;
  parameters: ExperimentParameters;
  requestedBy: string;
  target: string;
  deadline: Deadline;
  /** When the function running it will be stopped (its remaining time from now). */
  stopsAt: Date;
  onCleanupError?: (error: unknown) => void;
}): Promise<ExperimentReport> {
  await recordRequest(input);
  let claimed: ExperimentReport | undefined;
  try {
    claimed = await claim(input.experimentId, { stopsAt: input.stopsAt });
  } catch (error) {
    if (error instanceof LabBusy) {
      const message = error.message;
      await finish({ ...queuedReport(input), status: 'failed', error: message }).catch(() => {});
    }
    throw error;
  }
  if (!claimed) throw new Error(`Experiment ${input.experimentId} vanished before it ran`);
  return executeClaimed(claimed, input);
}

/** Time kept back from cleanup for storing the report: a fifth of the reserve, at most 10 s. */
const storeReserveMs = (reserveMs: number) => Math.min(reserveMs / 5, 10_000);

/**
 * A deadline `remainingMs` from now, less what cleanup needs; cleanup itself stops in time to store
 * the report (a long run can write more lab items than the reserve has time to delete).
 *
 * @example
 * const deadline = deadlineIn(context.getRemainingTimeInMillis());
 */
export const deadlineIn = (remainingMs: number, reserveMs = CLEANUP_RESERVE_MS) =>
  new Deadline(
    Date.now() + Math.max(0, remainingMs - reserveMs),
    Date.now() + Math.max(0, remainingMs - storeReserveMs(reserveMs)),
  );
