/**
 * Telling "a dependency is down, frozen, overloaded or busy" apart from "the code is wrong": the
 * first is a 503 the client may retry (`DEPENDENCY_UNAVAILABLE`, naming the dependency), the second
 * a 500. Adapters tag the errors of their dependency; {@link dependencyFailure} reads the tag.
 */

const TAG = Symbol.for('shop.dependency');

/** Marks an error as coming from `dependency` (kept when already tagged) and returns it. */
export function tagDependency<E>(error: E, dependency: string): E {
  if (typeof error === 'object' && error !== null && !(TAG in error)) {
    Object.defineProperty(error, TAG, { value: dependency, enumerable: false });
  }
  return error;
}

/** Node.js socket errors: the other side is not there, or went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Postgres SQLSTATEs that mean "not now": connection exceptions (08), too many connections (53300)
 * and other insufficient resources (53), operator intervention (57: shutdown, crash recovery,
 * statement_timeout's query_canceled 57014), lock_timeout (55P03), serialization failure and
 * deadlock (40001, 40P01), and authentication failures while credentials rotate (28P01, 28000).
 */
const POSTGRES_UNAVAILABLE = /^(08|53|57|55P03|40001|40P01|28P01|28000)/;

/** Messages of the `pg` driver itself when the connection fails or times out. */
const PG_DRIVER_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error',
  'Connection ended unexpectedly',
  'terminating connection',
];

/** AWS error names that mean throttling, timeouts or an unavailable service. */
const AWS_UNAVAILABLE = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'AbortError',
]);

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; typeof e === 'object' && e !== null && chain.length < 8; ) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return chain;
}

function isUnavailable(error: object): boolean {
  const e = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number };
    $fault?: string;
    $retryable?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (NETWORK_CODES.has(code)) return true;
  if (typeof e.name === 'string' && AWS_UNAVAILABLE.has(e.name)) return true;
  if (e.$fault === 'server' || (e.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  if (e.$retryable) return true;
  if (/^[0-9A-Z]{5}$/.test(code) && POSTGRES_UNAVAILABLE.test(code)) return true;
  if (PG_DRIVER_MESSAGES.some((m) => message.includes(m))) return true;
  return false;
}

/** What the API says about a dependency failure. */
export interface DependencyFailure {
  dependency: string;
  /** The Postgres lock wait ran past lock_timeout: another transaction holds the row. */
  lockTimeout: boolean;
  message: string;
}

/**
 * The dependency failure behind an error (its cause chain is searched), or undefined when the error
 * is not one: a tagged error that means unavailable, overloaded or timed out.
 *
 * @example
 * const failure = dependencyFailure(error);
 * if (failure) return json(503, { error: 'DEPENDENCY_UNAVAILABLE', dependency: failure.dependency });
 */
export function dependencyFailure(error: unknown): DependencyFailure | undefined {
  const chain = causes(error);
  const dependency = chain
    .map((e) => (e as Record<symbol, unknown>)[TAG])
    .find((d): d is string => typeof d === 'string');
  if (!dependency) return undefined;
  const cause = chain.find((e) => isUnavailable(e as object));
  if (!cause) return undefined;
  const code = (cause as { code?: unknown }).code;
  const lockTimeout = code === '55P03';
  return {
    dependency,
    lockTimeout,
    message: lockTimeout
      ? 'A row this request needs is locked by another transaction (lock_timeout); retry shortly'
      : `${dependency} did not answer in time or is unavailable; retry shortly`,
  };
}
