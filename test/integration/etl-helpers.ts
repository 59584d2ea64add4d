import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { inject } from 'vitest';
import { control } from './helpers.ts';

export const s3 = () =>
  new S3Client({
    region: 'us-east-1',
    endpoint: inject('endpoints').s3,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

/** The lake's bucket names, as the ETL functions were deployed with them. */
export async function lakeBuckets(): Promise<{ raw: string; curated: string; analytics: string }> {
  const functions = await control<{ name: string; environment: Record<string, string> }[]>('/functions');
  const env = functions.find((f) => f.name.includes('EtlTransform'))?.environment ?? {};
  return {
    raw: String(env.LAKE_RAW_BUCKET),
    curated: String(env.LAKE_CURATED_BUCKET),
    analytics: String(env.LAKE_ANALYTICS_BUCKET),
  };
}

export async function listObjects(bucket: string, prefix: string): Promise<string[]> {
  const out = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

export async function getObject(bucket: string, key: string): Promise<Buffer> {
  const out = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(
    await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

export async function putObject(bucket: string, key: string, body: Buffer): Promise<void> {
  await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Every object under the prefixes, key → bytes. */
export async function snapshot(bucket: string, prefixes: string[]): Promise<Map<string, Buffer>> {
  const all = new Map<string, Buffer>();
  for (const prefix of prefixes) {
    for (const key of await listObjects(bucket, prefix)) all.set(key, await getObject(bucket, key));
  }
  return all;
}

/** Rows of a Parquet object, read with DuckDB (independently of the pipeline's own code). */
export async function readParquet(bucket: string, key: string): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'etl-test-'));
  try {
    const file = path.join(dir, 'f.parquet');
    writeFileSync(file, await getObject(bucket, key));
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(`select * from read_parquet('${file}')`);
    const rows = reader.getRowObjectsJS() as Record<string, unknown>[];
    connection.closeSync();
    return rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ExecutionSummary {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED' | 'RUNNING';
  output?: string;
  error?: string;
  cause?: string;
}

/** A fault as `/_local/faults` lists it. */
export interface FaultRecord {
  id: string;
  status: 'active' | 'healed' | 'heal-failed';
  healedBy?: string;
  detail: { function?: string; invocationsHit?: number };
}

/**
 * Runs `body` with a FIS Lambda action (`lambda-invocation-error`, `lambda-invocation-add-delay`)
 * injected by the local cloud on one function, and heals it afterwards.
 */
export async function withLambdaFault<T>(
  fault: { kind: string; function: string } & Record<string, unknown>,
  body: (fault: FaultRecord) => Promise<T>,
): Promise<T> {
  const injected = await control<FaultRecord>('/faults', { method: 'POST', body: JSON.stringify(fault) });
  try {
    return await body(injected);
  } finally {
    await control(`/faults/${injected.id}`, { method: 'DELETE' }).catch(() => {}); // 404: healed already
  }
}

/** One fault as listed now. */
export async function faultNow(id: string): Promise<FaultRecord | undefined> {
  const { faults } = await control<{ faults: FaultRecord[] }>('/faults');
  return faults.find((f) => f.id === id);
}

/** Runs the deployed ETL state machine on the local cloud and waits for its end. */
export async function runPipeline(
  date: string,
  options: { runId?: string } = {},
): Promise<ExecutionSummary & { runId: string }> {
  const machines = await control<{ name: string; arn: string }[]>('/state-machines');
  const machine = machines.find((m) => m.name.endsWith('-etl'));
  if (!machine) throw new Error(`no ETL state machine among ${JSON.stringify(machines)}`);
  const runId = options.runId ?? `test-${date}-${crypto.randomUUID().slice(0, 8)}`;
  const execution = await control<ExecutionSummary>(
    `/state-machines/${encodeURIComponent(machine.arn)}/start?wait=true`,
    { method: 'POST', body: JSON.stringify({ name: runId, input: { date } }) },
  );
  return { ...execution, runId };
}

export const today = () => new Date().toISOString().slice(0, 10);
