import { randomUUID } from 'node:crypto';
import { FisExperiments, hasLabFaultTemplate, labFaultTemplate } from '../../../platform/adapters/fis.ts';
import { connectionConfig, ResilientPool, timeoutSettings } from '../../../platform/adapters/postgres.ts';
import { runWorkers } from '../../domain/concurrency.ts';
import type { FailoverRun, ResultRow } from '../../domain/report.ts';
import type { RunContext } from '../context.ts';
import { percentile, percentiles } from '../measure.ts';

/**
 * failover: `concurrency` writers commit numbered rows (`lab_writes`) one after another, pausing
 * `thinkTimeMs` between commits, and remember every acknowledgement. After 2 s the lab starts the
 * environment's failover experiment (AWS FIS: reboot with failover; the local cloud: SIGKILL of the
 * primary, `pg_promote()` of the standby a second later, a new standby). The writers go on through the
 * shop's own pool ({@link ResilientPool}: a dropped connection is discarded, the next query connects
 * again, to wherever the endpoint now leads) until 1.5 s after the experiment has ended. Then:
 * - **RPO**: acknowledged rows missing on the new primary;
 * - **RTO**: the longest time no writer had a commit acknowledged, around the failover;
 * - commit latency before the failure and after the recovery.
 *
 * Both replication modes, `trials` failovers each: `asynchronous` (the primary acknowledges once its
 * own WAL is on disk) and `synchronous` (once the standby has it: the environment's
 * `synchronous` experiment sets `synchronous_standby_names` for the run).
 */
const BEFORE_MS = 2_000;
const AFTER_MS = 1_500;
const BUCKET_MS = 100;

type Mode = 'asynchronous' | 'synchronous';

interface Ack {
  seq: number;
  at: number;
  ms: number;
}

export async function failover(ctx: RunContext): Promise<ResultRow[]> {
  const fis = new FisExperiments();
  const tag = ctx.experimentId.slice(0, 8);
  // A link delay (a standby in a distant zone) where the environment offers one, for both modes.
  const lag = hasLabFaultTemplate('lag')
    ? await fis.start(labFaultTemplate('lag'), `${tag}-lag-${randomUUID()}`)
    : undefined;
  try {
    const rows: ResultRow[] = [];
    // Where the environment cannot switch modes (RDS Multi-AZ replicates synchronously), one mode.
    const modes: Mode[] = hasLabFaultTemplate('synchronous')
      ? ['asynchronous', 'synchronous']
      : ['synchronous'];
    for (const mode of modes) {
      const runs: FailoverRun[] = [];
      let firstError: string | undefined;
      let errors = 0;
      const latencies: number[] = [];
      for (let trial = 1; trial <= ctx.parameters.trials && !ctx.deadline.passed; trial++) {
        const run = await oneFailover(ctx, fis, mode, trial);
        runs.push(run.result);
        errors += run.errors;
        latencies.push(...run.latencies);
        firstError ??= run.firstError;
      }
      const acknowledged = runs.reduce((s, r) => s + r.acknowledged, 0);
      const lost = runs.reduce((s, r) => s + r.lost, 0);
      rows.push({
        store: 'postgres',
        strategy: mode,
        operations: acknowledged,
        anomalies: lost,
        anomalyRate: acknowledged ? Math.round((lost / acknowledged) * 10_000) / 10_000 : 0,
        retries: 0,
        errors,
        latencyMs: percentiles(latencies),
        failover: runs,
        ...(firstError ? { firstError: firstError.slice(0, 300) } : {}),
      });
    }
    return rows;
  } finally {
    if (lag) await fis.stop(lag.id).catch(() => {});
  }
}

async function oneFailover(
  ctx: RunContext,
  fis: FisExperiments,
  mode: Mode,
  trial: number,
): Promise<{ result: FailoverRun; errors: number; firstError?: string; latencies: number[] }> {
  const writers = ctx.parameters.concurrency;
  const tag = ctx.experimentId.slice(0, 8);
  // The shop's own pool and timeouts, on the shop's own endpoint (DATABASE_URL / the RDS secret).
  const pool = new ResilientPool(
    { ...(await connectionConfig()), max: writers, idleTimeoutMillis: 10_000, ...timeoutSettings() },
    () => connectionConfig(),
  );
  pool.on('error', () => {});
  const sync =
    mode === 'synchronous' && hasLabFaultTemplate('synchronous')
      ? await fis.start(labFaultTemplate('synchronous'), `${tag}-sync-${trial}-${randomUUID()}`)
      : undefined;
  const acks: Ack[] = [];
  const failures: number[] = [];
  let firstError: string | undefined;
  let seq = 0;
  let stopAt = Number.POSITIVE_INFINITY;
  const start = Date.now();
  try {
    const writing = runWorkers(writers, async (w) => {
      while (Date.now() < stopAt && !ctx.deadline.passed) {
        const mine = seq++;
        const began = Date.now();
        try {
          await pool.query(
            'insert into lab_writes (experiment_id, mode, trial, seq, writer) values ($1, $2, $3, $4, $5)',
            [ctx.experimentId, mode, trial, mine, w],
          );
          const at = Date.now();
          acks.push({ seq: mine, at: at - start, ms: at - began });
        } catch (error) {
          failures.push(Date.now() - start);
          firstError ??= (error as Error).message;
        }
        await new Promise((r) => setTimeout(r, ctx.parameters.thinkTimeMs));
      }
    });
    await new Promise((r) => setTimeout(r, BEFORE_MS));
    const faultAtMs = Date.now() - start;
    const experiment = await fis.start(labFaultTemplate('failover'), `${tag}-failover-${mode}-${trial}`);
    const ended = await fis.waitUntilEnded(experiment.id, ctx.deadline.at);
    if (ended.state.status !== 'completed')
      throw new Error(`failover experiment ${ended.state.status}: ${ended.state.reason ?? ''}`);
    stopAt = Date.now() + AFTER_MS;
    await writing;
    if (sync) await fis.stop(sync.id).catch(() => {});

    const found = (await pool.query(
      'select seq from lab_writes where experiment_id = $1 and mode = $2 and trial = $3',
      [ctx.experimentId, mode, trial],
    )) as { rows: { seq: number }[] };
    const present = new Set(found.rows.map((r) => Number(r.seq)));
    const lost = acks.filter((a) => !present.has(a.seq)).length;
    const times = acks.map((a) => a.at).sort((a, b) => a - b);
    // RTO: the longest stretch without an acknowledged commit, from just before the fault on.
    let rtoMs = 0;
    let previous = times.filter((t) => t <= faultAtMs).at(-1) ?? faultAtMs;
    for (const t of times.filter((t) => t > faultAtMs)) {
      rtoMs = Math.max(rtoMs, t - previous);
      previous = t;
    }
    const recoveredAt = faultAtMs + rtoMs;
    const end = Math.max(0, ...times, ...failures);
    const timeline = Array.from({ length: Math.ceil((end + 1) / BUCKET_MS) }, (_, i) => ({
      tMs: i * BUCKET_MS,
      commits: acks.filter((a) => Math.floor(a.at / BUCKET_MS) === i).length,
      errors: failures.filter((t) => Math.floor(t / BUCKET_MS) === i).length,
    }));
    return {
      result: {
        trial,
        acknowledged: acks.length,
        lost,
        rtoMs,
        latencyBeforeMs: percentile(
          acks.filter((a) => a.at < faultAtMs).map((a) => a.ms),
          50,
        ),
        latencyAfterMs: percentile(
          acks.filter((a) => a.at > recoveredAt).map((a) => a.ms),
          50,
        ),
        timeline,
        faultAtMs,
      },
      errors: failures.length,
      firstError,
      latencies: acks.map((a) => a.ms),
    };
  } finally {
    stopAt = 0;
    if (sync) await fis.stop(sync.id).catch(() => {});
    await pool.end().catch(() => {});
  }
}
