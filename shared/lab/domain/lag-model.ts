/**
 * Replica lag models: how long after a write is acknowledged a lagging copy applies it.
 *
 * The local cloud samples one to delay its replicas (`npm start -- --replication exp:20ms`) and tells
 * the functions which one is in force through configuration (`REPLICATION_MODEL`), so the lab can
 * put the PBS prediction next to what it measures. Pure: no I/O, usable from the local cloud, the
 * lab and the tests.
 *
 * | spec               | lag                                   | P(lag > t)                     |
 * | ------------------ | ------------------------------------- | ------------------------------ |
 * | `off`              | no replicas                           | –                              |
 * | `exp:20ms`         | exponential, mean 20 ms               | e^(−t/20)                      |
 * | `uniform:5-200ms`  | uniform between 5 and 200 ms          | 1 − (t−5)/195 on [5, 200]      |
 * | `fixed:50ms`       | always 50 ms                          | 1 for t < 50, else 0           |
 */

export type LagModel =
  | { kind: 'off' }
  | { kind: 'exp'; meanMs: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'fixed'; ms: number };

/**
 * The response header in which the local cloud's replicated DynamoDB states its coordinator's clock
 * (ms): when a read arrived, or when a write was acknowledged. The lab measures PBS's t between
 * the two where it is present; DynamoDB on AWS sends no such header.
 */
export const AS_OF_HEADER = 'x-replication-as-of';

/** The local cloud's default: replicas on, lag exponential with a 20 ms mean. */
export const DEFAULT_LAG_MODEL = 'exp:20ms';

const DURATION = String.raw`(\d+(?:\.\d+)?)(ms|s)`;
const toMs = (value: string, unit: string) => Number(value) * (unit === 's' ? 1000 : 1);

/**
 * Parses a lag model spec; throws an Error saying what is accepted when it is not one.
 *
 * @example
 * parseLagModel('uniform:5-200ms'); // { kind: 'uniform', minMs: 5, maxMs: 200 }
 */
export function parseLagModel(spec: string): LagModel {
  const text = spec.trim().toLowerCase();
  if (text === 'off' || text === 'none') return { kind: 'off' };
  let m = new RegExp(`^exp:${DURATION}$`).exec(text);
  if (m) {
    const meanMs = toMs(m[1] as string, m[2] as string);
    if (meanMs > 0) return { kind: 'exp', meanMs };
  }
  m = new RegExp(`^fixed:${DURATION}$`).exec(text);
  if (m) return { kind: 'fixed', ms: toMs(m[1] as string, m[2] as string) };
  m = new RegExp(String.raw`^uniform:(\d+(?:\.\d+)?)(ms|s)?-${DURATION}$`).exec(text);
  if (m) {
    const maxUnit = m[4] as string;
    const minMs = toMs(m[1] as string, m[2] ?? maxUnit);
    const maxMs = toMs(m[3] as string, maxUnit);
    if (maxMs > minMs) return { kind: 'uniform', minMs, maxMs };
  }
  throw new Error(
    `"${spec}" is not a lag model: use off, exp:<mean>ms, uniform:<min>-<max>ms or fixed:<lag>ms (e.g. exp:20ms)`,
  );
}

/**
 * The canonical spec of a model (what `REPLICATION_MODEL` carries).
 *
 * @example
 * formatLagModel({ kind: 'exp', meanMs: 20 }); // 'exp:20ms'
 */
export function formatLagModel(model: LagModel): string {
  switch (model.kind) {
    case 'off':
      return 'off';
    case 'exp':
      return `exp:${model.meanMs}ms`;
    case 'uniform':
      return `uniform:${model.minMs}-${model.maxMs}ms`;
    case 'fixed':
      return `fixed:${model.ms}ms`;
  }
}

/**
 * One lag sample in milliseconds (0 when off). `random` returns values in [0, 1).
 *
 * @example
 * sampleLag({ kind: 'fixed', ms: 50 }); // 50
 */
export function sampleLag(model: LagModel, random: () => number = Math.random): number {
  switch (model.kind) {
    case 'off':
      return 0;
    case 'exp':
      return -model.meanMs * Math.log(1 - random());
    case 'uniform':
      return model.minMs + (model.maxMs - model.minMs) * random();
    case 'fixed':
      return model.ms;
  }
}

/**
 * The mean lag of a model in milliseconds (0 when off): what the local cloud's Postgres standby
 * uses as its `recovery_min_apply_delay` unless told otherwise, so both stores lag alike.
 *
 * @example
 * lagMeanMs(parseLagModel('uniform:5-200ms')); // 102.5
 */
export function lagMeanMs(model: LagModel): number {
  switch (model.kind) {
    case 'off':
      return 0;
    case 'exp':
      return model.meanMs;
    case 'uniform':
      return (model.minMs + model.maxMs) / 2;
    case 'fixed':
      return model.ms;
  }
}

/**
 * P(lag > t): the probability that a lagging copy has not applied a write `t` ms after it was
 * acknowledged (the survival function).
 *
 * @example
 * lagExceeds({ kind: 'exp', meanMs: 20 }, 20); // ≈ 0.368
 */
export function lagExceeds(model: LagModel, tMs: number): number {
  switch (model.kind) {
    case 'off':
      return 0;
    case 'exp':
      return Math.exp(-Math.max(0, tMs) / model.meanMs);
    case 'uniform':
      return Math.min(1, Math.max(0, (model.maxMs - tMs) / (model.maxMs - model.minMs)));
    case 'fixed':
      return tMs < model.ms ? 1 : 0;
  }
}

/** The binomial coefficient C(n, k). */
export function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
}

/**
 * PBS t-visibility (Bailis et al., VLDB 2012): the probability that a read of R of N replicas, t ms
 * after a write acknowledged by W of them, misses it: C(N−W, R) / C(N, R) × P(lag > t). For
 * DynamoDB's N=3, W=2, R=1 that is 1/3 × P(lag > t).
 *
 * @example
 * pbsStaleProbability({ n: 3, w: 2, r: 1 }, { kind: 'exp', meanMs: 20 }, 0); // 0.333…
 */
export function pbsStaleProbability(
  quorum: { n: number; w: number; r: number },
  model: LagModel,
  tMs: number,
): number {
  return (choose(quorum.n - quorum.w, quorum.r) / choose(quorum.n, quorum.r)) * lagExceeds(model, tMs);
}
