/**
 * `npm start [-- --fresh] [--port N] [--console-port N] [--state-dir DIR]`: runs the embedded local cloud until Ctrl-C.
 * Set DATABASE_URL to use your own Postgres instead of the embedded one.
 */
import { parseArgs } from 'node:util';
import { startLocalCloud } from '../cloud/local-cloud.ts';

const { values } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    port: { type: 'string' },
    'console-port': { type: 'string' },
    'state-dir': { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});

const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
  console.error(`--port must be a TCP port number (0: any free port), got "${values.port}"`);
  process.exit(2);
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

const print = (entry: Record<string, unknown>) => {
  if (!values.quiet)
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};

try {
  const cloud = await startLocalCloud({
    root: process.cwd(),
    fresh: values.fresh,
    apiPort: port,
    consolePort,
    stateDir: values['state-dir'],
    databaseUrl: process.env.DATABASE_URL || undefined,
    log: print,
  });
  const seconds = (cloud.timings.total ?? 0) / 1000;
  const parts = Object.entries(cloud.timings)
    .filter(([k]) => k !== 'total')
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`)
    .join(', ');
  process.stdout.write(
    `ready ${cloud.apiUrl} in ${seconds.toFixed(1)}s (${parts}) · console ${cloud.consoleUrl}\n`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`stopping (${signal})\n`);
    await cloud.stop();
    process.stdout.write('stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (error) {
  console.error(`local cloud failed to start: ${(error as Error).message}`);
  process.exit(1);
}
