import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { runWorkers } from '../../domain/concurrency.ts';
import { type LagModel, lagExceeds, parseLagModel, pbsStaleProbability } from '../../domain/lag-model.ts';
import { VISIBILITY_DELAYS_MS } from '../../domain/parameters.ts';
import type { ResultRow, VisibilityPoint } from '../../domain/report.ts';
import { type RunContext, warmUpDynamoDB } from '../context.ts';
import { labClient, labExpiry, labTable } from '../lab-table.ts';
import { Measurements } from '../measure.ts';
import {
  type CounterWrite,
  DYNAMODB_READS,
  type DynamoRead,
  type LabPools,
  POSTGRES_READS,
  type PostgresRead,
  probeApplyLatency,
  readCounter,
  readLabItem,
  writeCounter,
} from '../reads.ts';
import { type WireTimes, wireTimed } from '../wire-times.ts';

/**
 * t-visibility (Bailis et al., "Probabilistically Bounded Staleness for Practical Partial Quorums",
 * VLDB 2012): how likely is a read `t` ms after a write's acknowledgement to miss it? For each delay
 * in {@link VISIBILITY_DELAYS_MS}, `trials` writes each followed, `t` ms later, by one read of every
 * mode (DynamoDB: eventual GetItem, ConsistentRead GetItem, a GSI Query, all on the one new item;
 * Postgres: replica, primary and read-your-writes reads of the row just written), with `concurrency`
 * trials in flight. Each mode's curve holds the measured stale probability per delay and, where the
 * environment states its lag model (`REPLICATION_MODEL`), the PBS prediction at the delays the trials
 * actually had. A DynamoDB delay is PBS's t as the store's coordinator saw it, from acknowledging the
 * write to the read's arrival, where the store states its clock (the local cloud's does, see
 * `wire-times.ts`); else it is taken on the wire, from the write's answer arriving to the read
 * leaving, so at least the SDK's own work does not count as replica lag.
 *
 * - eventual GetItem: N = 3, W = 2, R = 1 → C(1,1)/C(3,1) × P(lag > t) = 1/3 × P(lag > t);
 * - GSI Query: the index is updated asynchronously from the base table → P(index lag > t);
 * - ConsistentRead, the Postgres primary and read-your-writes: 0 (they read what was acknowledged);
 * - the Postgres replica: no model is configured there, only a real standby, so the prediction is
 *   PBS's from the write latency W it measures (§5 of the paper): while a delay's trials run, a probe
 *   commits and polls the reader until it shows each commit, and the prediction is P(W > delay).
 *   W is the standby's `recovery_min_apply_delay` plus the real WAL flush, shipping and replay under
 *   the run's own load. A reader that is the primary predicts 0; nothing where the reader cannot say.
 *   The delay is the one the standby counts: from the commit to the read's arrival, both by the
 *   servers' clock (the standby holds a commit back from the timestamp in its commit record, which
 *   precedes the WAL flush and the client's acknowledgement by milliseconds).
 */
export async function tVisibility(ctx: RunContext): Promise<ResultRow[]> {
  const model = statedModel(ctx.replicationModel);
  const dynamo = DYNAMODB_READS.map((r) => ({ ...r, curve: new Curve(predictDynamo(r.read, model)) }));
  const reader = await readerKind(ctx);
  const pg = POSTGRES_READS.map((r) => ({ ...r, curve: new Curve(predictPostgres(r.read, reader)) }));
  await warmUpDynamoDB(ctx);
  for (const t of VISIBILITY_DELAYS_MS) await dynamoPoint(ctx, t, dynamo);
  for (const t of VISIBILITY_DELAYS_MS) await postgresPoint(ctx, t, pg, reader === 'standby');
  return [
    ...dynamo.map(({ strategy, curve }) => curve.row('dynamodb', strategy)),
    ...pg.map(({ strategy, curve }) => curve.row('postgres', strategy)),
  ];
}

/** The lag model the environment states; undefined when none is (AWS) or it cannot be read. */
function statedModel(spec: string | undefined): LagModel | undefined {
  if (!spec) return undefined;
  try {
    return parseLagModel(spec);
  } catch {
    return undefined;
  }
}

/** PBS prediction per delay for a DynamoDB read mode (null: no model to predict from). */
function predictDynamo(read: DynamoRead, model: LagModel | undefined): (delayMs: number) => number | null {
  if (read === 'strong') return () => 0;
  if (!model) return () => null;
  if (read === 'index') return (t) => lagExceeds(model, t);
  return (t) => pbsStaleProbability({ n: 3, w: 2, r: 1 }, model, t);
}

/**
 * The replica read's prediction: 0 where the reader is the primary (replication off, `dev` on AWS);
 * on a standby, set per delay once the delay's trials have run, from the apply latency W probed
 * meanwhile (see {@link probeApplyLatency}): P(W > delay), averaged over the trials' delays.
 */
function predictPostgres(read: PostgresRead, reader: 'primary' | 'standby' | null): Predict {
  if (read !== 'replica' || reader === 'primary') return () => 0;
  return reader === 'standby' ? 'per-delay' : () => null;
}

/** Whether the reader is a standby (`pg_is_in_recovery()`) or the primary; null if it cannot say. */
async function readerKind(ctx: RunContext): Promise<'primary' | 'standby' | null> {
  try {
    const out = await (await ctx.readerPool()).query<{ standby: boolean }>(
      'select pg_is_in_recovery() as standby',
    );
    const row = out.rows[0];
    return row ? (row.standby ? 'standby' : 'primary') : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : undefined);

/** Sleeps until `performance.now()` reaches `at` (a timer may fire up to a millisecond early). */
async function sleepUntil(at: number): Promise<void> {
  for (let left = at - performance.now(); left > 0; left = at - performance.now())
    await sleep(Math.ceil(left));
}

async function dynamoPoint(
  ctx: RunContext,
  t: number,
  modes: { read: DynamoRead; curve: Curve }[],
): Promise<void> {
  const { trials, concurrency } = ctx.parameters;
  let next = 0;
  await runWorkers(Math.min(trials, concurrency), async () => {
    while (next < trials) {
      const trial = next++;
      if (ctx.deadline.passed) {
        for (const { curve } of modes) curve.m.fail(new Error('deadline passed'));
        continue;
      }
      // A new item per trial: its only version is 1, and no earlier write of it can still be in flight.
      const key = ctx.keys.key('tv', t, trial);
      const put = wireTimed(
        new PutCommand({
          TableName: labTable(),
          Item: { ...key, version: 1, gsi1pk: key.pk, gsi1sk: 'ITEM', expiresAt: labExpiry() },
        }),
      );
      try {
        await labClient().send(put.command);
      } catch (error) {
        for (const { curve } of modes) curve.m.fail(error);
        continue;
      }
      // The acknowledgement as it came off the wire (not after the SDK parsed it).
      const acked = put.times.received ?? performance.now();
      await sleepUntil(acked + t);
      await Promise.all(
        modes.map(async ({ read, curve }) => {
          try {
            const times: WireTimes = {};
            const started = performance.now();
            const seen = await readLabItem(read, key, undefined, times);
            curve.m.record(performance.now() - started);
            curve.add(t, dynamoDelay(put.times, times, acked, started), seen !== 1);
          } catch (error) {
            curve.m.fail(error);
          }
        }),
      );
    }
  });
}

/**
 * The delay a DynamoDB read had after the write's acknowledgement: measured by the store's
 * coordinator where it states its clock (both answers carry `asOf`), which is PBS's t; else from the
 * ack's arrival to the read leaving for the wire, which also counts the ack's way back to this
 * function and the read's way to the store.
 */
function dynamoDelay(write: WireTimes, read: WireTimes, acked: number, started: number): number {
  if (write.asOf !== undefined && read.asOf !== undefined) return read.asOf - write.asOf;
  return (read.sent ?? started) - acked;
}

async function postgresPoint(
  ctx: RunContext,
  t: number,
  modes: { read: PostgresRead; curve: Curve }[],
  probe: boolean,
): Promise<void> {
  const { trials, concurrency } = ctx.parameters;
  const workers = Math.min(trials, concurrency);
  const pools = { primary: await ctx.pool(), reader: await ctx.readerPool() };
  const stop = { stopped: false };
  // A probe row per delay: its versions start at 1, and an earlier delay's higher one must not count.
  const probing = probe
    ? probeApplyLatency(pools, `${ctx.experimentId}:tv:probe:${t}`, ctx.experimentId, stop).catch(
        (): number[] => [],
      )
    : undefined;
  try {
    await postgresTrials(ctx, t, modes, pools, workers);
  } finally {
    stop.stopped = true;
  }
  const w = await probing;
  for (const { read, curve } of modes)
    if (read === 'replica')
      curve.settle(t, w?.length ? (delay) => w.filter((x) => x > delay).length / w.length : undefined);
}

async function postgresTrials(
  ctx: RunContext,
  t: number,
  modes: { read: PostgresRead; curve: Curve }[],
  pools: LabPools,
  workers: number,
): Promise<void> {
  const { trials } = ctx.parameters;
  const ordered = [
    ...modes.filter((m) => m.read === 'replica'),
    ...modes.filter((m) => m.read !== 'replica'),
  ];
  let next = 0;
  await runWorkers(workers, async (w) => {
    const id = `${ctx.experimentId}:tv:${w}`;
    while (next < trials) {
      const version = ++next + t * 1_000_000; // a new value for every trial of every delay
      if (ctx.deadline.passed) {
        for (const { curve } of modes) curve.m.fail(new Error('deadline passed'));
        continue;
      }
      let write: CounterWrite;
      try {
        write = await writeCounter(pools.primary, id, ctx.experimentId, version);
      } catch (error) {
        for (const { curve } of modes) curve.m.fail(error);
        continue;
      }
      await sleep(t);
      // The replica first: it is the read whose delay matters; the others are never stale.
      for (const { read, curve } of ordered) {
        try {
          const sent = performance.now();
          const seen = await readCounter(read, pools, id, write.token);
          curve.m.record(performance.now() - sent);
          if (seen.fallback) curve.m.retries++;
          // By the servers' clock (one machine, or NTP-synced hosts): from the commit to the read.
          curve.add(t, seen.readAt - write.committedAt, seen.n !== version);
        } catch (error) {
          curve.m.fail(error);
        }
      }
    }
  });
}

/** A prediction per trial delay, or 'per-delay': set by {@link Curve.settle} after the delay's trials. */
type Predict = ((delayMs: number) => number | null) | 'per-delay';

/** One read mode's measurements over all delays. */
class Curve {
  readonly m = new Measurements();
  private readonly points = new Map<
    number,
    { trials: number; stale: number; delay: number; predicted: number; delays: number[] }
  >();
  private readonly predict: Predict;

  constructor(predict: Predict) {
    this.predict = predict;
  }

  add(t: number, delayMs: number, stale: boolean): void {
    const point = this.points.get(t) ?? { trials: 0, stale: 0, delay: 0, predicted: 0, delays: [] };
    point.trials++;
    if (stale) point.stale++;
    point.delay += delayMs;
    if (this.predict === 'per-delay') point.delays.push(delayMs);
    else point.predicted += this.predict(delayMs) ?? Number.NaN;
    this.points.set(t, point);
  }

  /** For a 'per-delay' curve: evaluates `predict` (none: no prediction) at delay t's trials' delays. */
  settle(t: number, predict: ((delayMs: number) => number) | undefined): void {
    const point = this.points.get(t);
    if (!point || this.predict !== 'per-delay') return;
    point.predicted = predict ? point.delays.reduce((sum, d) => sum + predict(d), 0) : Number.NaN;
    point.delays = [];
  }

  row(store: ResultRow['store'], strategy: string): ResultRow {
    const curve: VisibilityPoint[] = [...this.points].map(([tMs, p]) => ({
      tMs,
      meanDelayMs: round(p.delay / p.trials, 100),
      trials: p.trials,
      stale: p.stale,
      staleRate: round(p.stale / p.trials, 10_000),
      predicted: Number.isNaN(p.predicted) ? null : round(p.predicted / p.trials, 10_000),
    }));
    const operations = curve.reduce((sum, p) => sum + p.trials, 0);
    const anomalies = curve.reduce((sum, p) => sum + p.stale, 0);
    return { ...this.m.row({ store, strategy, operations, anomalies }), curve };
  }
}

const round = (value: number, scale: number) => Math.round(value * scale) / scale;
