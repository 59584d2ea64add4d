import { z } from 'zod';
import { DEFAULTS, LIMITS, SCENARIOS, type Scenario, trialsLimit, VISIBILITY_TRIALS } from './limits.ts';

/**
 * What a consistency experiment may be asked to do, and how long it will take.
 *
 * Ranges (a value outside them is a 400 naming `body.<field>`):
 *
 * | field         | range    | default                                                    |
 * | ------------- | -------- | ---------------------------------------------------------- |
 * | `scenario`    | see below| required                                                   |
 * | `trials`      | 1–1000   | read-after-write 50, projection-lag 20, the others 1       |
 * |               | 1–5000   | t-visibility: trials per delay, default 500                |
 * | `concurrency` | 1–64     | 16 (projection-lag runs its trials one after another: 1); above 16 admins only |
 * | `stock`       | 1–10000  | 10 (oversell only)                                         |
 * | `thinkTimeMs` | 0–1000   | 5 (failover and partition: 20, a client's pause between writes) |
 * | `seconds`     | 1–60     | 5: how long the partition lasts (partition only)           |
 * | `trials`      | 1–10     | failover: failovers per replication mode, default 1        |
 *
 * A run estimated to last longer than {@link INLINE_LIMIT_MS} is answered 202 and run by the runner
 * function; one estimated beyond {@link MAX_RUN_MS} is refused (400) before anything runs.
 */
export {
  DEFAULTS,
  LIMITS,
  SCENARIOS,
  type Scenario,
  trialsLimit,
  VISIBILITY_TRIALS,
} from './limits.ts';

/** Concurrency anyone signed in may ask for; above it (up to 64) needs the admin group (403 naming body.concurrency). */
export const OPEN_CONCURRENCY = 16;

/** The delays (ms between a write's acknowledgement and the read) at which t-visibility measures. */
export const VISIBILITY_DELAYS_MS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500] as const;

/** Runs estimated above this are answered 202 and executed asynchronously (API Gateway stops at 29 s). */
export const INLINE_LIMIT_MS = 20_000;
/** Runs estimated above this are refused: the runner function has 15 minutes, cleanup included. */
export const MAX_RUN_MS = 10 * 60_000;

const int = ({ min, max }: { min: number; max: number }) =>
  z
    .int(`must be an integer from ${min} to ${max}`)
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .optional();

/**
 * The body of `POST /consistency/experiments`. Unknown fields are refused so a typo
 * (`concurency`) is a 400 rather than a silently ignored default.
 *
 * @example
 * const request = parseBody(event, ExperimentRequest); // { scenario: 'lost-update', concurrency: 32 }
 */
export const ExperimentRequest = z
  .strictObject({
    scenario: z.enum(SCENARIOS, `must be one of ${SCENARIOS.join(', ')}`),
    trials: int(VISIBILITY_TRIALS),
    concurrency: int(LIMITS.concurrency),
    stock: int(LIMITS.stock),
    thinkTimeMs: int(LIMITS.thinkTimeMs),
    seconds: int(LIMITS.seconds),
  })
  .superRefine((request, ctx) => {
    const { max } = trialsLimit(request.scenario);
    // Above the t-visibility limit the field's own check has already said so.
    if (request.trials !== undefined && request.trials > max && request.trials <= VISIBILITY_TRIALS.max)
      ctx.addIssue({ code: 'custom', path: ['trials'], message: `must be at most ${max}` });
  });
export type ExperimentRequest = z.infer<typeof ExperimentRequest>;

/** A request with every default filled in: what a report states under `parameters`. */
export interface ExperimentParameters {
  scenario: Scenario;
  trials: number;
  concurrency: number;
  stock: number;
  thinkTimeMs: number;
  /** partition: how long the regions are cut apart (absent for the other scenarios). */
  seconds?: number;
}

/**
 * Fills in the scenario's defaults. projection-lag measures one change at a time, so its
 * concurrency is always 1.
 *
 * @example
 * resolveParameters({ scenario: 'oversell' }); // { scenario: 'oversell', trials: 1, concurrency: 16, stock: 10, thinkTimeMs: 5 }
 */
export function resolveParameters(request: ExperimentRequest): ExperimentParameters {
  const defaults = DEFAULTS[request.scenario];
  return {
    scenario: request.scenario,
    trials: request.trials ?? defaults.trials,
    concurrency: request.scenario === 'projection-lag' ? 1 : (request.concurrency ?? defaults.concurrency),
    stock: request.stock ?? defaults.stock,
    thinkTimeMs: request.thinkTimeMs ?? defaults.thinkTimeMs,
    ...(request.scenario === 'partition' ? { seconds: request.seconds ?? defaults.seconds } : {}),
  };
}

/**
 * Round-trip times the estimate assumes: AWS-like (a Lambda in a VPC talking to DynamoDB and RDS,
 * EventBridge delivering to a Lambda), so the estimate errs long on the local cloud, never short.
 */
const DYNAMODB_MS = 6;
const POSTGRES_MS = 3;
const EVENT_DELIVERY_MS = 600;
const FIXED_MS = 1500; // pools, warm-up, cleanup

/**
 * How long a run should take, in milliseconds: the basis of the 201-or-202 decision.
 *
 * Strategies that let workers proceed in parallel cost one round per `concurrency` operations;
 * strategies that serialise the workers on one item or row (locks, conflicts, one winner per round
 * of optimistic retries) cost one round per operation. Each round is the think time plus the round
 * trips it needs.
 *
 * @example
 * estimateDurationMs(resolveParameters({ scenario: 'lost-update' })); // ≈ 2600 (ms)
 */
export function estimateDurationMs(p: ExperimentParameters): number {
  const think = p.thinkTimeMs;
  const rounds = (operations: number) => Math.ceil(operations / p.concurrency);
  let perTrial: number;
  switch (p.scenario) {
    case 'read-after-write':
      // write + read per strategy: three DynamoDB strategies and Postgres, in parallel batches.
      return FIXED_MS + rounds(p.trials) * (3 * 2 * DYNAMODB_MS + 2 * POSTGRES_MS);
    case 'projection-lag':
      return FIXED_MS + p.trials * (3 * POSTGRES_MS + EVENT_DELIVERY_MS);
    case 't-visibility':
      // Always queued (202), however few the trials: each trial sleeps on purpose (2·t per delay) and
      // every read-your-writes read waits for the replica to replay the write (its apply delay), so
      // round trips alone do not bound it; a 201 answer would gamble with API Gateway's 29 s (a
      // 40-trial run took over 25 s on a busy 2-core machine).
      // Per delay: DynamoDB (write, wait, three reads in parallel), then Postgres (write, token, wait, reads).
      return Math.max(
        INLINE_LIMIT_MS + 1,
        FIXED_MS +
          VISIBILITY_DELAYS_MS.reduce<number>(
            (sum, t) => sum + rounds(p.trials) * (2 * t + 2 * DYNAMODB_MS + 4 * POSTGRES_MS),
            0,
          ) +
          // cleanup: one replicated delete per trial's item, 25 to a batch
          Math.ceil((p.trials * VISIBILITY_DELAYS_MS.length) / 25) * DYNAMODB_MS,
      );
    case 'failover':
      // Per failover and mode: 2 s of writes, the crash and promotion (≈5 s), 1.5 s after, a new standby.
      return FIXED_MS + p.trials * 2 * 15_000;
    case 'partition':
      // 1 s before, the partition, then until both regions agree again (seconds at most).
      return FIXED_MS + ((p.seconds ?? 5) + 1) * 1000 + 5_000;
    case 'lost-update': {
      const n = p.concurrency;
      perTrial =
        // DynamoDB: naive in parallel; ADD and transactions serialise on the item; optimistic has one winner per round.
        think +
        2 * DYNAMODB_MS +
        n * DYNAMODB_MS +
        n * 2 * DYNAMODB_MS +
        n * (think + 2 * DYNAMODB_MS) +
        // Postgres: naive waits on the row lock for its write; n = n + 1 serialises; FOR UPDATE and SERIALIZABLE hold it across the think time.
        (think + 2 * POSTGRES_MS + n * POSTGRES_MS) +
        n * POSTGRES_MS +
        n * (think + 3 * POSTGRES_MS) +
        n * (think + 4 * POSTGRES_MS);
      break;
    }
    case 'oversell': {
      const attempts = p.stock + p.concurrency; // demand exceeds supply by one buyer per worker
      perTrial =
        rounds(attempts) * (think + 2 * DYNAMODB_MS) +
        attempts * DYNAMODB_MS +
        attempts * (think + 2 * DYNAMODB_MS) +
        attempts * 2 * DYNAMODB_MS +
        rounds(attempts) * (think + 2 * POSTGRES_MS) +
        attempts * POSTGRES_MS +
        attempts * (think + 3 * POSTGRES_MS) +
        attempts * (think + 4 * POSTGRES_MS);
      break;
    }
  }
  return FIXED_MS + p.trials * perTrial;
}
