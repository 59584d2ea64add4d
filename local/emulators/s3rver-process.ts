/**
 * Entry point of the S3 emulator's own Node process: runs s3rver and reports readiness.
 *
 * Started by {@link startS3} as `node --openssl-legacy-provider s3rver-process.ts --port N --host H
 * --directory D`: s3rver answers truncated ListObjectsV2 requests with 500 under OpenSSL 3 unless the
 * legacy provider is loaded, and that flag must not be forced on the whole local cloud, hence a child.
 *
 * Protocol: prints `s3rver listening on http://HOST:PORT` and, when started with an IPC channel,
 * sends `{ type: 'ready', port }` (or `{ type: 'error', message }` before exiting with 1).
 * Exits cleanly on SIGTERM/SIGINT, and when the parent's IPC channel closes (the parent died).
 *
 * Can also be run by hand: `node --openssl-legacy-provider local/emulators/s3rver-process.ts --port 4566 --directory /tmp/s3`.
 */
import { parseArgs } from 'node:util';
import S3rver from 's3rver';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4566' },
    host: { type: 'string', default: '127.0.0.1' },
    directory: { type: 'string' },
    silent: { type: 'boolean', default: false },
  },
});

if (!values.directory) {
  console.error('s3rver-process: --directory is required');
  process.exit(2);
}

const server = new S3rver({
  address: values.host,
  port: Number(values.port),
  directory: values.directory,
  silent: values.silent,
  configureBuckets: [],
});

let closing = false;
async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  setTimeout(() => process.exit(code), 2_000).unref();
  try {
    server.httpServer?.closeAllConnections();
    await server.close();
  } catch {
    // not running
  }
  process.exit(code);
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
process.on('disconnect', () => void shutdown(0));

try {
  const address = await server.run();
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  console.log(`s3rver listening on http://${host}:${address.port}`);
  process.send?.({ type: 'ready', port: address.port });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`s3rver could not start: ${message}`);
  process.send?.({ type: 'error', message });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
}
