/** The extract's source for the ETL row: Postgres loaded with N orders, and s3rver with the raw bucket. */
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/** Source of the extract phase: a Postgres with N orders and their lines, and s3rver with the raw bucket. */
export interface ExtractSource {
  env: NodeJS.ProcessEnv;
  items: number;
  loadMs: number;
  listRaw(): Promise<{ key: string; size: number }[]>;
  stop(): Promise<void>;
}

export const RAW_BUCKET = 'bench-lake-raw';
export const EXTRACT_DATE = '2025-05-01';

/** Starts Postgres and s3rver in `stateDir`, applies the migrations, loads `n` orders, creates the raw bucket. */
export async function startExtractSource(stateDir: string, n: number): Promise<ExtractSource> {
  const { startPostgres, startS3, S3_CREDENTIALS } = await import('../../local/emulators/index.ts');
  const { migrateUp } = await import('../../shared/platform/adapters/migrate.ts');
  const { default: pgModule } = await import('pg');
  const { CreateBucketCommand, ListObjectsV2Command, S3Client } = await import('@aws-sdk/client-s3');
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    const outcomes = await Promise.allSettled(started.map((e) => e.stop()));
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    const track = async <T extends { stop(): Promise<void> }>(emulator: Promise<T>) => {
      const e = await emulator;
      started.push(e);
      return e;
    };
    const [postgres, s3] = await Promise.all([
      track(startPostgres({ stateDir: path.join(stateDir, 'postgres'), port: 0, permissionRoot: stateDir })),
      track(startS3({ stateDir: path.join(stateDir, 's3'), port: 0, silent: true })),
    ]);
    await migrateUp({ connectionString: postgres.url }, path.join(root, 'shared/db/migrations'));

    const t0 = performance.now();
    const db = new pgModule.Client({ connectionString: postgres.url });
    await db.connect();
    let items: number;
    try {
      // One row per order (its latest version): every 10th cancelled an hour after it was placed.
      // Creation times spread over one day, with microseconds; 1-4 lines per order (2.5 on average).
      await db.query(
        `insert into orders (order_id, region, user_id, status, total_cents, created_at, updated_at)
         select md5('order-' || i)::uuid, (array['eu', 'us', 'ap'])[i % 3 + 1], 'u' || (i % 5000),
                case when i % 10 = 0 then 'CANCELLED' else 'PLACED' end,
                1000 * (array[1, 3, 6, 7])[i % 4 + 1],
                c, c + (i % 10 = 0)::int * interval '1 hour'
           from generate_series(0, $1::int - 1) as i,
                lateral (select timestamptz '${EXTRACT_DATE} 00:00:00+00'
                                + ((i::bigint * 7919 * 1000003) % 86400000000) * interval '1 microsecond' as c) as t`,
        [n],
      );
      const inserted = await db.query(
        `insert into order_items (region, order_id, product_id, quantity, unit_price_cents)
         select (array['eu', 'us', 'ap'])[i % 3 + 1], md5('order-' || i)::uuid, 'p' || ((i + l * 31) % 2000),
                1 + l % 3, 1000
           from generate_series(0, $1::int - 1) as i, generate_series(0, i % 4) as l`,
        [n],
      );
      items = inserted.rowCount ?? 0;
      await db.query('vacuum (analyze) orders, order_items');
    } finally {
      await db.end();
    }
    const loadMs = performance.now() - t0;

    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await client.send(new CreateBucketCommand({ Bucket: RAW_BUCKET }));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: postgres.url,
      LAKE_RAW_BUCKET: RAW_BUCKET,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_S3_FORCE_PATH_STYLE: 'true',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    };
    for (const name of ['AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete env[name];
    return {
      env,
      items,
      loadMs,
      async listRaw() {
        const out = await client.send(new ListObjectsV2Command({ Bucket: RAW_BUCKET }));
        return (out.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0 }));
      },
      async stop() {
        client.destroy();
        await stop();
      },
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
