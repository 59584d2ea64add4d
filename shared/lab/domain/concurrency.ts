/** Small tools for running N workers against one item and retrying conflicts. */

/**
 * Waits `ms` milliseconds (not at all for 0): the application's think time between a read and the
 * write that depends on it.
 *
 * @example
 * await think(5);
 */
export function think(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/**
 * Starts `count` workers at once and waits for all of them. Each gets its index. Nothing is awaited
 * between starts, so the first requests of all workers are in flight together.
 *
 * @example
 * await runWorkers(16, async (worker) => increment(worker));
 */
export async function runWorkers(count: number, worker: (index: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, index) => worker(index)));
}

/**
 * A shared queue of `total` jobs taken by workers one at a time: `take()` is true while jobs remain.
 *
 * @example
 * const jobs = jobQueue(26);
 * await runWorkers(16, async () => { while (jobs.take()) await buy(); });
 */
export function jobQueue(total: number): { take: () => boolean; remaining: () => number } {
  let left = total;
  return {
    take: () => {
      if (left <= 0) return false;
      left--;
      return true;
    },
    remaining: () => left,
  };
}

/** Gives up on an operation that keeps conflicting. */
export const MAX_ATTEMPTS = 500;

/**
 * Full-jitter exponential backoff before retry number `attempt` (1, 2, …): a random wait up to
 * 2 ms × 2^attempt, at most 100 ms, so conflicting workers spread out instead of colliding again.
 *
 * @example
 * await backoff(3); // up to 16 ms
 */
export function backoff(attempt: number): Promise<void> {
  const cap = Math.min(100, 2 * 2 ** Math.min(attempt, 10));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
}

/** Gives up after too many conflicts: the operation counts as an error, not as an anomaly. */
export class TooManyConflicts extends Error {
  override name = 'TooManyConflicts';
}

/**
 * Runs `work` until it succeeds. A failure that `isConflict` calls a lost race (a failed version
 * condition, a transaction conflict, a serialization failure) is counted with `onRetry` and retried
 * after {@link backoff}; anything else is thrown. After {@link MAX_ATTEMPTS} conflicts it throws
 * {@link TooManyConflicts}.
 *
 * @example
 * await retryOnConflict(() => updateIfVersion(seen), isConditionFailure, () => m.retries++);
 */
export async function retryOnConflict<T>(
  work: () => Promise<T>,
  isConflict: (error: unknown) => boolean,
  onRetry: () => void,
  conflicts = 'conflicting attempts',
): Promise<T> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isConflict(error)) throw error;
      onRetry();
      await backoff(attempt);
    }
  }
  throw new TooManyConflicts(`gave up after ${MAX_ATTEMPTS} ${conflicts}`);
}

/** Thrown when a run passes its deadline: the remaining operations count as errors. */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
}

/**
 * A point in time after which workers stop starting operations, so cleanup still fits in the
 * function's time; and `cleanupBy`, after which cleanup stops too (what it leaves expires by TTL),
 * so the report is still stored before the function is stopped.
 *
 * @example
 * const deadline = new Deadline(Date.now() + 20_000, Date.now() + 25_000);
 * deadline.check(); // throws DeadlineExceeded once passed
 */
export class Deadline {
  readonly at: number;
  readonly cleanupBy: number;
  /** @param cleanupBy when cleanup must stop (default: never) */
  constructor(at: number, cleanupBy = Number.POSITIVE_INFINITY) {
    this.at = at;
    this.cleanupBy = Math.max(at, cleanupBy);
  }
  get passed(): boolean {
    return Date.now() > this.at;
  }
  check(): void {
    if (this.passed) throw new DeadlineExceeded('The run passed its deadline; the rest was not attempted');
  }
}
