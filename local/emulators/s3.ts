import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { FatalProbeError, ManagedProcess, waitUntilReady } from './process.ts';
import { type CommonStartOptions, DEFAULT_HOST, DEFAULT_PORTS, type Emulator, hostPort } from './types.ts';

/** Options for {@link startS3}. */
export interface S3Options extends CommonStartOptions {
  /** Directory holding buckets and objects (created if missing); data survives restarts. */
  stateDir: string;
  /** Suppress s3rver's per-request log lines. @defaultValue `false` */
  silent?: boolean;
}

/** Access key and secret s3rver accepts (it checks signatures). */
export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * The SDK variables a process (a script, a test calling the ETL's code) sets to reach s3rver at
 * `endpoint` the way the local cloud's functions do: path-style addressing, the credentials, and
 * checksums only where required (s3rver corrupts streamed uploads that carry the default ones).
 */
export const s3ClientEnv = (endpoint: string): Record<string, string> => ({
  AWS_ENDPOINT_URL_S3: endpoint,
  AWS_S3_FORCE_PATH_STYLE: 'true',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
  AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
  AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
});

const entry = fileURLToPath(new URL('./s3rver-process.ts', import.meta.url));

/**
 * Starts s3rver in its own Node process (with `--openssl-legacy-provider`, see `s3rver-process.ts`).
 *
 * Clients need path-style addressing and the credentials in {@link S3_CREDENTIALS}; with AWS SDK v3
 * also `requestChecksumCalculation: 'WHEN_REQUIRED'` and `responseChecksumValidation: 'WHEN_REQUIRED'`.
 * s3rver does not implement multipart abort/list.
 *
 * @example
 * ```ts
 * const s3 = await startS3({ stateDir: '.local/state/s3' });
 * const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true,
 *   credentials: S3_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED',
 *   responseChecksumValidation: 'WHEN_REQUIRED' });
 * ```
 * @throws {@link EmulatorStartError} when the process exits early or does not report ready in time.
 */
export async function startS3(options: S3Options): Promise<Emulator> {
  const host = options.host ?? DEFAULT_HOST;
  const port = await freePort(options.port ?? DEFAULT_PORTS.s3, host);
  const stateDir = resolve(options.stateDir);
  await mkdir(stateDir, { recursive: true });
  options.signal?.throwIfAborted();

  const proc = new ManagedProcess({
    name: 's3',
    command: process.execPath,
    args: [
      '--openssl-legacy-provider',
      entry,
      '--port',
      String(port),
      '--host',
      host,
      '--directory',
      stateDir,
      ...(options.silent ? ['--silent'] : []),
    ],
    ipc: true,
    onLog: options.onLog,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 3_000,
  });
  options.onSpawn?.();

  let ready = false;
  let failure: string | undefined;
  proc.child.on('message', (message: { type?: string; message?: string }) => {
    if (message?.type === 'ready') ready = true;
    else if (message?.type === 'error') failure = message.message ?? 'unknown error';
  });

  try {
    await waitUntilReady(
      proc,
      async () => {
        if (failure)
          throw new FatalProbeError(`s3rver could not start on ${hostPort(host, port)}: ${failure}`);
        return ready;
      },
      { timeoutMs: options.startTimeoutMs ?? 15_000, intervalMs: 20, signal: options.signal },
    );
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { name: 's3', endpoint: `http://${hostPort(host, port)}`, stop: () => proc.stop() };
}
