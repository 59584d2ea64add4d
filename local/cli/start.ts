/**
 * `npm start [-- --fresh] [--port N] [--console-port N] [--state-dir DIR] [--quiet]
 * [--worker-idle-seconds N] [--max-workers N] [--unsafe-fast-postgres] [--replication off|exp:20ms|uniform:5-200ms|fixed:50ms]`:
 * runs the embedded local cloud until Ctrl-C. Set DATABASE_URL to use your own Postgres instead of
 * the embedded one. `--unsafe-fast-postgres` turns off fsync and synchronous commit: a crash then
 * loses orders that were answered 201. `--replication` (or `SHOP_REPLICATION`) sets the replica lag
 * model; default exp:20ms.
 */
import { parseArgs } from 'node:util';
import { parseLagModel } from '../../shared/lab/domain/lag-model.ts';
import { startLocalCloud } from '../cloud/local-cloud.ts';

const { values } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    port: { type: 'string' },
    'console-port': { type: 'string' },
    'state-dir': { type: 'string' },
    quiet: { type: 'boolean', default: false },
    replication: { type: 'string' },
    'unsafe-fast-postgres': { type: 'boolean', default: false },
    'worker-idle-seconds': { type: 'string' },
    'max-workers': { type: 'string' },
  },
});
const idle = values['worker-idle-seconds'] === undefined ? undefined : Number(values['worker-idle-seconds']);
if (idle !== undefined && !(Number.isInteger(idle) && idle >= 1 && idle <= 3600)) {
  console.error(
    `--worker-idle-seconds must be a whole number from 1 to 3600, got "${values['worker-idle-seconds']}"`,
  );
  process.exit(2);
}

const maxWorkers = values['max-workers'] === undefined ? undefined : Number(values['max-workers']);
if (maxWorkers !== undefined && !(Number.isInteger(maxWorkers) && maxWorkers >= 1 && maxWorkers <= 1000)) {
  console.error(`--max-workers must be a whole number from 1 to 1000, got "${values['max-workers']}"`);
  process.exit(2);
}

const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
  console.error(`--port must be a TCP port number (0: any free port), got "${values.port}"`);
  process.exit(2);
}

if (values.replication !== undefined) {
  try {
    parseLagModel(values.replication);
  } catch (error) {
    console.error(`--replication: ${(error as Error).message}`);
    process.exit(2);
  }
}

const consolePort = values['console-port'] === undefined ? undefined : Number(values['console-port']);
if (
  consolePort !== undefined &&
  !(Number.isInteger(consolePort) && consolePort >= 0 && consolePort < 65536)
) {
  console.error(
    `--console-port must be a TCP port number (0: any free port), got "${values['console-port']}"`,
  );
  process.exit(2);
}

/**
 * Log lines are written once per turn of the event loop, together: a request's records (its
 * function's platform.start and platform.report, the gateway's line) then cost one pipe write,
 * after its response has gone out, instead of three writes on its way.
 */
let pending: string[] = [];
const flush = () => {
  if (pending.length) process.stdout.write(pending.join(''));
  pending = [];
};
process.on('exit', flush);
const print = (entry: Record<string, unknown>) => {
  if (values.quiet) return;
  if (pending.length === 0) setImmediate(flush);
  pending.push(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};

try {
  const cloud = await startLocalCloud({
    root: process.cwd(),
    fresh: values.fresh,
    apiPort: port,
    consolePort,
    stateDir: values['state-dir'],
    databaseUrl: process.env.DATABASE_URL || undefined,
    unsafeFastPostgres: values['unsafe-fast-postgres'],
    workerIdleSeconds: idle,
    maxWorkers,
    log: print,
    replication: values.replication,
  });
  if (values['unsafe-fast-postgres']) {
    process.stderr.write(
      'WARNING --unsafe-fast-postgres: fsync and synchronous_commit are off; a crash loses committed transactions\n',
    );
  }
  const seconds = (cloud.timings.total ?? 0) / 1000;
  const parts = Object.entries(cloud.timings)
    .filter(([k]) => k !== 'total')
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`)
    .join(', ');
  flush();
  process.stdout.write(
    `ready ${cloud.apiUrl} in ${seconds.toFixed(1)}s (${parts}) · console ${cloud.consoleUrl}\n`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    flush();
    process.stdout.write(`stopping (${signal})\n`);
    await cloud.stop();
    flush();
    process.stdout.write('stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (error) {
  flush();
  console.error(`local cloud failed to start: ${(error as Error).message}`);
  process.exit(1);
}
