/**
 * Emulator process management for the embedded local cloud: DynamoDB Local (Java), s3rver (Node)
 * and Postgres (native binaries from npm), each started, health-checked and stopped without Docker.
 *
 * @example
 * ```ts
 * import { startAll } from './local/emulators/index.ts';
 *
 * const emulators = await startAll({ stateDir: '.local/state', onLog: (name, line) => console.log(`[${name}] ${line}`) });
 * console.log(emulators.dynamodb.endpoint, emulators.s3.endpoint, emulators.postgres.url, emulators.timings);
 * process.once('SIGINT', () => void emulators.stop());
 * ```
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startDynamoDb } from './dynamodb.ts';
import { checkJava, findJava, javaMissingMessage } from './java.ts';
import { freePort } from './ports.ts';
import { externalPostgres, startPostgres } from './postgres.ts';
import { EmulatorStartError } from './process.ts';
import { startS3 } from './s3.ts';
import { DEFAULT_HOST, DEFAULT_PORTS, type Emulator, type PostgresEmulator } from './types.ts';

export { DEFAULT_JVM_ARGS, type DynamoDbOptions, startDynamoDb } from './dynamodb.ts';
export {
  checkJava,
  findJava,
  type JavaCheck,
  javaCommand,
  javaMissingMessage,
  MIN_JAVA_MAJOR,
} from './java.ts';
export { freePort } from './ports.ts';
export {
  DEFAULT_POSTGRES_SETTINGS,
  externalPostgres,
  type PostgresOptions,
  releaseDataDirectory,
  startPostgres,
  UNSAFE_FAST_POSTGRES_SETTINGS,
} from './postgres.ts';
export { EmulatorStartError } from './process.ts';
export { S3_CREDENTIALS, type S3Options, startS3 } from './s3.ts';
export {
  type CommonStartOptions,
  DEFAULT_HOST,
  DEFAULT_PORTS,
  type Emulator,
  type LogFn,
  type PostgresEmulator,
} from './types.ts';

/** The emulators {@link startAll} manages. */
export type EmulatorName = 'dynamodb' | 's3' | 'postgres';

/** Options for {@link startAll}. */
export interface StartAllOptions {
  /**
   * Root of the persisted state; each emulator gets a subdirectory (`dynamodb/`, `s3/`, `postgres/`).
   * Delete it to reset everything. As root, keep it where the `postgres` OS user can reach it
   * (e.g. `.local/state` in the repository).
   */
  stateDir: string;
  /** Use this Postgres instead of starting one (the user's `DATABASE_URL`). */
  databaseUrl?: string;
  /**
   * Keep a class-data-sharing archive of DynamoDB Local's JVM in `<stateDir>/dynamodb-cds`: written
   * when the first run's JVM exits (1-3 CPU-s then), it halves the JVM's start-up CPU in later runs.
   * @defaultValue `false`
   */
  dynamodbClassArchive?: boolean;
  /** Embedded Postgres without fsync and with asynchronous commit (see {@link PostgresOptions.unsafeFast}). */
  unsafeFastPostgres?: boolean;
  /** Preferred ports (`0`: any free port); busy ones are replaced by free ones. @defaultValue {@link DEFAULT_PORTS} */
  ports?: Partial<Record<EmulatorName, number>>;
  /** @defaultValue `'127.0.0.1'` */
  host?: string;
  /**
   * Called as soon as each emulator answers, before the others may have, so that work needing only
   * it (e.g. a Postgres standby) can start.
   */
  onReady?: (name: EmulatorName, emulator: Emulator | PostgresEmulator) => void;
  /** Called when an emulator's process has been started (see {@link CommonStartOptions.onSpawn}). */
  onSpawn?: (name: EmulatorName) => void;
  /** Receives every emulator's output, line by line. */
  onLog?: (emulator: EmulatorName, line: string) => void;
  /** Per-emulator readiness deadline. @defaultValue 30 s (DynamoDB, Postgres), 15 s (S3) */
  startTimeoutMs?: number;
}

/** Milliseconds each emulator took to become ready, and the whole {@link startAll} call. */
export type EmulatorTimings = Record<EmulatorName | 'total', number>;

/** What {@link startAll} resolves: the three emulators and a way to stop them together. */
export interface LocalEmulators {
  readonly dynamodb: Emulator;
  readonly s3: Emulator;
  readonly postgres: PostgresEmulator;
  /** Startup time per emulator (0 for an external Postgres) and in total, in ms. */
  readonly timings: EmulatorTimings;
  /** Stops all three in parallel; rejects with the first failure after trying them all. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local, S3 and Postgres in parallel, with their state under `stateDir`.
 *
 * Checks that Java is there first and throws its install hint when it is missing (or, after
 * DynamoDB Local failed, too old). If any emulator fails, the
 * others are aborted or stopped, and the returned promise rejects with an {@link EmulatorStartError}
 * naming the failed emulator(s) and quoting their last output. On this kind of machine expect ~1 s
 * warm and ~1.5 s cold; DynamoDB Local (JVM start) is usually the slowest.
 *
 * @throws {@link EmulatorStartError}
 */
export async function startAll(options: StartAllOptions): Promise<LocalEmulators> {
  const started = performance.now();
  // Java missing: fail before starting anything. Its version is checked (a JVM start, 0.1-0.4 s on
  // the start's critical path) only when DynamoDB Local did not start.
  if (!findJava()) throw new EmulatorStartError('dynamodb', javaMissingMessage('none'));

  const host = options.host ?? DEFAULT_HOST;
  const stateDir = resolve(options.stateDir);
  await mkdir(stateDir, { recursive: true });
  const ports = await pickPorts(
    host,
    { ...DEFAULT_PORTS, ...options.ports },
    options.databaseUrl === undefined,
  );
  const log = (name: EmulatorName) =>
    options.onLog ? (line: string) => options.onLog?.(name, line) : undefined;

  // When one emulator fails, abort the others instead of waiting for their deadlines.
  const controller = new AbortController();
  const aborted = new Error('aborted because another emulator failed to start');
  aborted.name = 'AbortError';
  const timings: EmulatorTimings = { dynamodb: 0, s3: 0, postgres: 0, total: 0 };
  const timed = async <T>(name: EmulatorName, start: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      const result = await start();
      timings[name] = Math.round(performance.now() - t0);
      if (!controller.signal.aborted) options.onReady?.(name, result as Emulator);
      return result;
    } catch (error) {
      controller.abort(aborted);
      if (error === aborted || error instanceof EmulatorStartError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new EmulatorStartError(name, `${name} could not be started: ${message}`, [], { cause: error });
    }
  };
  const common = { host, startTimeoutMs: options.startTimeoutMs, signal: controller.signal };

  const results = await Promise.allSettled([
    timed('dynamodb', () =>
      startDynamoDb({
        ...common,
        onSpawn: () => options.onSpawn?.('dynamodb'),
        stateDir: join(stateDir, 'dynamodb'),
        classArchiveDir: options.dynamodbClassArchive ? join(stateDir, 'dynamodb-cds') : undefined,
        port: ports.dynamodb,
        onLog: log('dynamodb'),
      }),
    ),
    timed('s3', () =>
      startS3({
        ...common,
        onSpawn: () => options.onSpawn?.('s3'),
        stateDir: join(stateDir, 's3'),
        port: ports.s3,
        onLog: log('s3'),
      }),
    ),
    timed('postgres', async () =>
      options.databaseUrl !== undefined
        ? externalPostgres(options.databaseUrl)
        : startPostgres({
            ...common,
            onSpawn: () => options.onSpawn?.('postgres'),
            stateDir: join(stateDir, 'postgres'),
            port: ports.postgres,
            onLog: log('postgres'),
            permissionRoot: stateDir,
            unsafeFast: options.unsafeFastPostgres,
          }),
    ),
  ]);
  const [dynamodb, s3, postgres] = results;

  if (dynamodb.status === 'rejected' || s3.status === 'rejected' || postgres.status === 'rejected') {
    await Promise.allSettled(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    const java = dynamodb.status === 'rejected' && dynamodb.reason !== aborted ? checkJava() : undefined;
    const failures = results.flatMap((r) =>
      r.status === 'rejected' && r.reason !== aborted
        ? // DynamoDB Local cannot run on this Java: say so instead of quoting the JVM's error.
          [r === dynamodb && java && !java.ok ? new EmulatorStartError('dynamodb', java.message) : r.reason]
        : [],
    );
    const names = failures.map((f) => (f as EmulatorStartError).emulator);
    const details = failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n');
    throw new EmulatorStartError(
      names.join(', '),
      `The local emulators could not be started (${names.join(', ')} failed):\n${details}`,
      [],
      { cause: failures[0] },
    );
  }

  timings.total = Math.round(performance.now() - started);
  let stopping: Promise<void> | undefined;
  return {
    dynamodb: dynamodb.value,
    s3: s3.value,
    postgres: postgres.value,
    timings,
    stop() {
      stopping ??= (async () => {
        const outcomes = await Promise.allSettled([
          dynamodb.value.stop(),
          s3.value.stop(),
          postgres.value.stop(),
        ]);
        const failed = outcomes.find((o) => o.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return stopping;
    },
  };
}

/** Resolves the preferred ports to free, distinct ones (three `0`s must not become one port). */
async function pickPorts(
  host: string,
  preferred: Record<EmulatorName, number>,
  withPostgres: boolean,
): Promise<Record<EmulatorName, number>> {
  const taken = new Set<number>();
  const pick = async (port: number): Promise<number> => {
    let chosen = await freePort(taken.has(port) ? 0 : port, host);
    while (taken.has(chosen)) chosen = await freePort(0, host);
    taken.add(chosen);
    return chosen;
  };
  const dynamodb = await pick(preferred.dynamodb);
  const s3 = await pick(preferred.s3);
  const postgres = withPostgres ? await pick(preferred.postgres) : 0;
  return { dynamodb, s3, postgres };
}
