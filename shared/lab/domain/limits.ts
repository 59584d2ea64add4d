/**
 * The lab's scenarios, parameter ranges and defaults: plain data without dependencies, so that the
 * web console validates a request against the same numbers as the API's schema
 * (`ExperimentRequest` in `parameters.ts`) without bundling zod.
 */
export const SCENARIOS = [
  'read-after-write',
  'lost-update',
  'oversell',
  'projection-lag',
  't-visibility',
  'failover',
  'partition',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const LIMITS = {
  trials: { min: 1, max: 1000 },
  concurrency: { min: 1, max: 64 },
  stock: { min: 1, max: 10_000 },
  thinkTimeMs: { min: 0, max: 1000 },
  seconds: { min: 1, max: 60 },
} as const;

/** `trials` of failover: failovers per replication mode (each one kills a primary). */
export const FAILOVER_TRIALS = { min: 1, max: 10 } as const;

/** `trials` of t-visibility: trials per delay, and it needs thousands for a tight estimate. */
export const VISIBILITY_TRIALS = { min: 1, max: 5000 } as const;

/**
 * The range of `trials` for a scenario ({@link VISIBILITY_TRIALS} for t-visibility).
 *
 * @example
 * trialsLimit('t-visibility').max; // 5000
 */
export const trialsLimit = (scenario: unknown): { min: number; max: number } =>
  scenario === 't-visibility' ? VISIBILITY_TRIALS : scenario === 'failover' ? FAILOVER_TRIALS : LIMITS.trials;

/** Defaults per scenario. `trials` means: read-after-write pairs, counters, sales, or stock changes. */
export const DEFAULTS: Record<
  Scenario,
  { trials: number; concurrency: number; stock: number; thinkTimeMs: number; seconds: number }
> = {
  'read-after-write': { trials: 50, concurrency: 16, stock: 10, thinkTimeMs: 5, seconds: 5 },
  'lost-update': { trials: 1, concurrency: 16, stock: 10, thinkTimeMs: 5, seconds: 5 },
  oversell: { trials: 1, concurrency: 16, stock: 10, thinkTimeMs: 5, seconds: 5 },
  'projection-lag': { trials: 20, concurrency: 1, stock: 10, thinkTimeMs: 5, seconds: 5 },
  // Concurrency at the open limit (OPEN_CONCURRENCY), so the default run needs no admin. 500 trials
  // per delay: a run must end within the runner's 15 minutes, and 1,000 took 14.7 on a busy 2-core
  // machine; `npm run consistency -- --repeat 4` pools four runs into 2,000.
  't-visibility': { trials: 500, concurrency: 16, stock: 10, thinkTimeMs: 5, seconds: 5 },
  // Failovers per mode; writers; the pause between a writer's commits (its steady rate).
  failover: { trials: 1, concurrency: 4, stock: 10, thinkTimeMs: 20, seconds: 5 },
  // Clients per region and store; the pause between their updates; how long the regions are cut apart.
  partition: { trials: 1, concurrency: 2, stock: 10, thinkTimeMs: 20, seconds: 5 },
};
