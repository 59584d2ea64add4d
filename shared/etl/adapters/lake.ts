import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { requireEnv } from '../../config.ts';
import { s3Client } from '../../platform/adapters/aws-clients.ts';

/**
 * The lake's layout (one bucket per zone, Hive-style `dt=` partitions):
 *
 * - raw:       `<source>/dt=YYYY-MM-DD/batch-<window start>.jsonl.gz` (orders, order_items) and
 *              `catalog/dt=…/segment-<i>-of-<n>.jsonl.gz`: records exactly as read, gzip JSON Lines.
 * - curated:   `<table>/dt=YYYY-MM-DD/part-00000.parquet` (orders, order_items, products);
 *              `quarantine/<source>/dt=…/rejected.jsonl.gz` with the reason per record.
 * - analytics: `<report>/dt=YYYY-MM-DD/part-00000.parquet` (daily_sales, top_products, cancellations).
 * - every zone: `_staging/<runId>/…` while a run writes; published by copying to the final key.
 */
export type Zone = 'raw' | 'curated' | 'analytics';

export const RAW_SOURCES = ['orders', 'order_items', 'catalog'] as const;
export const CURATED_TABLES = ['orders', 'order_items', 'products'] as const;
export const REPORTS = ['daily_sales', 'top_products', 'cancellations'] as const;
export type CuratedTable = (typeof CURATED_TABLES)[number];
export type Report = (typeof REPORTS)[number];

export const bucketOf = (zone: Zone) => requireEnv(`LAKE_${zone.toUpperCase()}_BUCKET`);

export const partition = (dataset: string, dt: string) => `${dataset}/dt=${dt}/`;
export const stagingKey = (runId: string, key: string) => `_staging/${runId}/${key}`;

/** `YYYY-MM-DD`, checked. */
export function assertDate(value: unknown): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value)))
    throw new Error(`not a date (YYYY-MM-DD): ${JSON.stringify(value)}`);
  return value;
}

export async function putBytes(zone: Zone, key: string, body: Uint8Array | string, contentType?: string) {
  await s3Client().send(
    new PutObjectCommand({ Bucket: bucketOf(zone), Key: key, Body: body, ContentType: contentType }),
  );
}

/** One PutObject from a file on disk (no multipart: at most 5 GB, which a day's partition stays under). */
export async function putFile(zone: Zone, key: string, file: string, contentType?: string) {
  await s3Client().send(
    new PutObjectCommand({
      Bucket: bucketOf(zone),
      Key: key,
      Body: createReadStream(file),
      ContentLength: statSync(file).size,
      ContentType: contentType,
    }),
  );
}

export async function getStream(zone: Zone, key: string): Promise<Readable> {
  const out = await s3Client().send(new GetObjectCommand({ Bucket: bucketOf(zone), Key: key }));
  return out.Body as Readable;
}

export async function getBytes(zone: Zone, key: string): Promise<Uint8Array | undefined> {
  try {
    const out = await s3Client().send(new GetObjectCommand({ Bucket: bucketOf(zone), Key: key }));
    return await out.Body?.transformToByteArray();
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

export async function listKeys(zone: Zone, prefix: string): Promise<{ key: string; size: number }[]> {
  const keys: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const out = await s3Client().send(
      new ListObjectsV2Command({ Bucket: bucketOf(zone), Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of out.Contents ?? []) if (o.Key) keys.push({ key: o.Key, size: o.Size ?? 0 });
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Publishes staged objects: each is copied to its final key (one object per partition, so the
 * partition flips from old to new in one step), then the staging prefix is removed.
 */
export async function publish(zone: Zone, runId: string, finalKeys: string[]): Promise<void> {
  const bucket = bucketOf(zone);
  for (const key of finalKeys) {
    await s3Client().send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        // Lake keys use only [A-Za-z0-9/=._-]: nothing to encode (and S3 emulators differ on decoding).
        CopySource: `${bucket}/${stagingKey(runId, key)}`,
      }),
    );
  }
  await deletePrefix(zone, `_staging/${runId}/`);
}

export async function deletePrefix(zone: Zone, prefix: string): Promise<void> {
  // One DeleteObject per key: staging holds a handful of objects, and every S3 emulator has it.
  for (const { key } of await listKeys(zone, prefix)) {
    await s3Client().send(new DeleteObjectCommand({ Bucket: bucketOf(zone), Key: key }));
  }
}
