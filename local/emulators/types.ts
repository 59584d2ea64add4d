/**
 * A running emulator (or an external service standing in for one).
 *
 * @example
 * ```ts
 * const dynamodb = await startDynamoDb({ stateDir: '.local/state/dynamodb' });
 * console.log(dynamodb.endpoint); // http://127.0.0.1:8000
 * await dynamodb.stop();
 * ```
 */
export interface Emulator {
  /** Short, stable name used in logs and errors: `dynamodb`, `s3` or `postgres`. */
  readonly name: string;
  /**
   * Where clients connect. For DynamoDB and S3 an HTTP endpoint such as `http://127.0.0.1:8000`;
   * for Postgres `postgres://127.0.0.1:5432` (no credentials, safe to print; see {@link PostgresEmulator.url}).
   */
  readonly endpoint: string;
  /**
   * Process id (and process group id) of the running server, for the local cloud's fault control;
   * `undefined` for an external service or once it has exited.
   */
  readonly pid?: number | undefined;
  /**
   * Stops the emulator and every process it started, and resolves once they have exited.
   * Safe to call more than once; later calls return the same promise.
   */
  stop(): Promise<void>;
}

/** A Postgres emulator, or an external database given by `DATABASE_URL`. */
export interface PostgresEmulator extends Emulator {
  /** Connection string with credentials and database, e.g. `postgres://postgres:postgres@127.0.0.1:5432/shop`. */
  readonly url: string;
  /**
   * Starts the server again on the same port and data (after a crash: WAL recovery first); stops it
   * first if it still runs. Absent for an external database.
   */
  restart?(): Promise<void>;
}

/** Receives one line of an emulator's output (stdout and stderr, without the line break). */
export type LogFn = (line: string) => void;

/** Options every `start*` function accepts. */
export interface CommonStartOptions {
  /**
   * Preferred port. Used when free, otherwise any free port is taken (see {@link freePort}).
   * `0` means "any free port". Each emulator has a conventional default, see `DEFAULT_PORTS`.
   */
  port?: number;
  /** Interface to bind and to put in the endpoint. @defaultValue `'127.0.0.1'` */
  host?: string;
  /** Receives the emulator's output line by line. Output is discarded when omitted. */
  onLog?: LogFn;
  /** How long to wait for the emulator to accept requests before failing. */
  startTimeoutMs?: number;
  /** Aborts the start: the half-started emulator is stopped and the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Called once the emulator's process has been started (not yet ready), e.g. to begin CPU work that
   * would otherwise delay the spawn.
   */
  onSpawn?: () => void;
}

/** The host emulators bind to unless told otherwise. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * Conventional ports, preferred when free: DynamoDB Local's 8000, LocalStack's 4566 for S3
 * (so tools configured for LocalStack work) and Postgres' 5432.
 */
export const DEFAULT_PORTS = { dynamodb: 8000, s3: 4566, postgres: 5432 } as const;

/** Formats `host:port` for a URL (brackets IPv6 literals). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
