/**
 * `npm run bench:etl -- [--orders 100000,1000000] [--chunk 50000]`
 *
 * Generates N synthetic orders (with ~2 lines each and 10% of orders present in two versions, a
 * placement and a later cancellation) as raw gzip JSON Lines, exactly as the extract writes them,
 * then measures, each phase in its own process (so peak memory is its own):
 *
 * - extract: `extractOrders` (shared/etl/extract.ts) from an embedded Postgres loaded with N orders
 *   (~2.5 lines each, 10% cancelled; loaded by server-side SQL, not timed) to s3rver, both started
 *   for the run in `.local/bench-etl-<pid>` (inside the repository: as root, Postgres runs as the
 *   `postgres` user, which must be able to enter it) and removed afterwards;
 * - transform (ours): stream → validate → external-sort dedupe → Parquet (hyparquet-writer), the
 *   building blocks of shared/etl/transform.ts, on local files instead of S3;
 * - transform (DuckDB): the same raw → Parquet conversion (latest version per key) in DuckDB;
 * - aggregate: the daily_sales / top_products / cancellations SQL on DuckDB over the curated files.
 *
 * Reports rows/s, MB/s (of uncompressed raw JSON: read from Postgres for the extract, the generated
 * files for the transforms) and peak RSS.
 */
import { execFile } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs, promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import type pg from 'pg';
import { DuckDbEngine } from '../shared/etl/engines.ts';
import { ExternalDedup } from '../shared/etl/external-sort.ts';
import { GzipLinesFile } from '../shared/etl/gzip-lines.ts';
import { ParquetFile } from '../shared/etl/parquet.ts';
import { CURATED_SCHEMAS, validateOrder, validateOrderItem } from '../shared/etl/records.ts';
import { REPORT_SQL } from '../shared/etl/sql.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '100000,1000000' },
    chunk: { type: 'string', default: '50000' },
    phase: { type: 'string' },
    dir: { type: 'string' },
  },
});

let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
sampler.unref();
const finish = (result: Record<string, unknown>) => {
  peak = Math.max(peak, process.memoryUsage().rss);
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMB: Math.round(peak / 1048576) })}\n`);
};

const CATEGORIES = ['books', 'tea', 'games', 'garden', 'tools', 'music', 'toys', 'food'];
const PRODUCTS = Array.from({ length: 2000 }, (_, i) => ({
  id: `p${i}`,
  name: `Product ${i}`,
  category: CATEGORIES[i % 8] as string,
}));

async function generate(dir: string, n: number) {
  const orders = new GzipLinesFile(path.join(dir, 'orders.jsonl.gz'));
  const items = new GzipLinesFile(path.join(dir, 'items.jsonl.gz'));
  const base = Date.parse('2025-05-01T00:00:00Z');
  const ts = (ms: number, micros: number) =>
    `${new Date(ms).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}+00:00`;
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < n; i++) {
    const id = `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${(i * 7919).toString(16).padStart(12, '0').slice(-12)}`;
    const created = base + Math.floor(rnd() * 86_400_000);
    const region = ['eu', 'us', 'ap'][i % 3] as string;
    const lines = 1 + Math.floor(rnd() * 3);
    const versions = i % 10 === 0 ? ['PLACED', 'CANCELLED'] : ['PLACED'];
    for (const [v, status] of versions.entries()) {
      const updated = created + v * 3_600_000;
      await orders.write(
        JSON.stringify({
          order_id: id,
          region,
          user_id: `u${i % 5000}`,
          status,
          total_cents: 1000 * lines,
          created_at: ts(created, i % 1000),
          updated_at: ts(updated, i % 1000),
        }),
      );
      for (let l = 0; l < lines; l++) {
        const p = PRODUCTS[(i + l * 31) % PRODUCTS.length] as { id: string };
        await items.write(
          JSON.stringify({
            region,
            order_id: id,
            product_id: p.id,
            quantity: 1 + (l % 3),
            unit_price_cents: 1000,
            order_updated_at: ts(updated, i % 1000),
            order_created_at: ts(created, i % 1000),
          }),
        );
      }
    }
  }
  const o = await orders.close();
  const it = await items.close();
  return {
    orderLines: orders.lines,
    itemLines: items.lines,
    rawBytes: orders.rawBytes + items.rawBytes,
    gzBytes: o + it,
  };
}

async function oursTransform(dir: string) {
  const catalog = new Map(PRODUCTS.map((p) => [p.id, { name: p.name, category: p.category }]));
  const out = path.join(dir, 'ours');
  mkdirSync(out, { recursive: true });
  const started = performance.now();
  let read = 0;
  let written = 0;
  for (const [table, file, validate] of [
    ['orders', 'orders.jsonl.gz', (r: Record<string, unknown>) => validateOrder(r)],
    ['order_items', 'items.jsonl.gz', (r: Record<string, unknown>) => validateOrderItem(r, catalog)],
  ] as const) {
    const dedup = new ExternalDedup({ chunkRows: Number(values.chunk), tmpDir: dir });
    const lines = createInterface({
      input: createReadStream(path.join(dir, file)).pipe(createGunzip()),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      read++;
      const checked = validate(JSON.parse(line) as Record<string, unknown>);
      if (checked.ok) await dedup.add({ key: checked.key, version: checked.version, record: line });
    }
    const parquet = new ParquetFile(path.join(out, `${table}.parquet`), CURATED_SCHEMAS[table]);
    for await (const w of dedup.drain()) {
      const checked = validate(JSON.parse(w.record) as Record<string, unknown>);
      if (checked.ok) parquet.append(checked.row as unknown as Record<string, unknown>);
    }
    parquet.close();
    written += parquet.rows;
  }
  finish({ phase: 'transform (ours)', read, written, ms: Math.round(performance.now() - started) });
}

async function duckTransform(dir: string) {
  const out = path.join(dir, 'duck');
  mkdirSync(out, { recursive: true });
  const engine = await DuckDbEngine.create();
  const started = performance.now();
  await engine.run(`copy (
      select * exclude (rn) from (
        select *, row_number() over (partition by order_id order by updated_at desc) as rn
        from read_json('${dir}/orders.jsonl.gz', format = 'newline_delimited')
      ) where rn = 1 order by order_id
    ) to '${out}/orders.parquet' (format parquet)`);
  await engine.run(`copy (
      select * exclude (rn) from (
        select *, row_number() over (partition by order_id, product_id order by order_updated_at desc) as rn
        from read_json('${dir}/items.jsonl.gz', format = 'newline_delimited')
      ) where rn = 1 order by order_id, product_id
    ) to '${out}/order_items.parquet' (format parquet)`);
  const [{ n }] = (await engine.query(
    `select (select count(*) from '${out}/orders.parquet') + (select count(*) from '${out}/order_items.parquet') as n`,
  )) as [{ n: bigint }];
  await engine.close();
  finish({ phase: 'transform (DuckDB)', written: Number(n), ms: Math.round(performance.now() - started) });
}

async function aggregate(dir: string) {
  const engine = await DuckDbEngine.create();
  const started = performance.now();
  await engine.run(
    `create view curated_orders as select *, '2025-05-01' as dt from '${dir}/ours/orders.parquet'`,
  );
  await engine.run(
    `create view curated_order_items as select *, '2025-05-01' as dt from '${dir}/ours/order_items.parquet'`,
  );
  let rows = 0;
  for (const spec of Object.values(REPORT_SQL)) rows += (await engine.query(spec.sql(['2025-05-01']))).length;
  await engine.close();
  finish({ phase: 'aggregate (DuckDB SQL)', written: rows, ms: Math.round(performance.now() - started) });
}

/** Source of the extract phase: a Postgres with N orders and their lines, and s3rver with the raw bucket. */
interface ExtractSource {
  env: NodeJS.ProcessEnv;
  items: number;
  loadMs: number;
  listRaw(): Promise<{ key: string; size: number }[]>;
  stop(): Promise<void>;
}

const RAW_BUCKET = 'bench-lake-raw';
const EXTRACT_DATE = '2025-05-01';

/** Starts Postgres and s3rver in `stateDir`, applies the migrations, loads `n` orders, creates the raw bucket. */
async function startExtractSource(stateDir: string, n: number): Promise<ExtractSource> {
  const { startPostgres, startS3, S3_CREDENTIALS } = await import('../local/emulators/index.ts');
  const { migrateUp } = await import('../shared/db/migrate.ts');
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

/** The extract phase (child process): the environment it needs is set by the parent before it starts. */
async function extract() {
  const { default: pgModule } = await import('pg');
  const { extractOrders } = await import('../shared/etl/extract.ts');
  const { EPOCH_WATERMARK } = await import('../shared/etl/state.ts');
  const db: pg.Pool = new pgModule.Pool({ connectionString: process.env.DATABASE_URL });
  try {
    const started = performance.now();
    const out = await extractOrders(db, EXTRACT_DATE, {
      after: EPOCH_WATERMARK,
      upTo: '2100-01-01T00:00:00.000000+00:00',
    });
    const ms = Math.round(performance.now() - started);
    finish({
      phase: 'extract (PG → S3)',
      read: out.orders.rowsRead + out.items.rowsRead,
      written: out.orders.rowsWritten + out.items.rowsWritten,
      rawBytes: (out.orders.bytesRead ?? 0) + (out.items.bytesRead ?? 0),
      gzBytes: (out.orders.bytesWritten ?? 0) + (out.items.bytesWritten ?? 0),
      ms,
    });
  } finally {
    await db.end();
  }
}

if (values.phase) {
  const dir = values.dir as string;
  if (values.phase === 'generate')
    finish({ phase: 'generate', ...(await generate(dir, Number(values.orders))) });
  else if (values.phase === 'extract') await extract();
  else if (values.phase === 'ours') await oursTransform(dir);
  else if (values.phase === 'duckdb') await duckTransform(dir);
  else if (values.phase === 'aggregate') await aggregate(dir);
  process.exit(0);
}

const self = new URL(import.meta.url).pathname;
const root = path.resolve(path.dirname(self), '..');
const execFileAsync = promisify(execFile);
const scratch = path.join(root, '.local', `bench-etl-${process.pid}`);
let source: ExtractSource | undefined;
let interrupted = false;
let dataDir: string | undefined;
const cleanUp = async () => {
  const stopping = source;
  source = undefined;
  try {
    await stopping?.stop();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    interrupted = true;
    void cleanUp().finally(() => {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      process.exit(code);
    });
  });
}

const row = (name: string, s: number, rowsPerS: number, mbPerS: string, rssMB: unknown, written: number) =>
  `${name.padEnd(24)} ${s.toFixed(2).padStart(6)} s ${Math.round(rowsPerS)
    .toLocaleString('en-US')
    .padStart(
      11,
    )} ${mbPerS.padStart(8)}   ${String(rssMB).padStart(5)} MB   ${written.toLocaleString('en-US').padStart(11)}`;

for (const n of values.orders.split(',').map(Number)) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-etl-'));
  dataDir = dir;
  try {
    const run = async (phase: string, env?: NodeJS.ProcessEnv) => {
      if (interrupted) throw new Error('interrupted');
      try {
        const { stdout } = await execFileAsync(
          process.execPath,
          [self, '--phase', phase, '--dir', dir, '--orders', String(n), '--chunk', values.chunk],
          { encoding: 'utf8', maxBuffer: 1 << 24, env },
        );
        return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, number | string>;
      } catch (error) {
        const { stderr, signal } = error as { stderr?: string; signal?: string };
        throw new Error(`${phase}: ${stderr || signal || (error as Error).message}`, { cause: error });
      }
    };
    const gen = await run('generate');
    const rawMB = Number(gen.rawBytes) / 1048576;
    const rows = Number(gen.orderLines) + Number(gen.itemLines);
    console.log(
      `\n${n.toLocaleString('en-US')} orders: ${rows.toLocaleString('en-US')} raw rows, ${rawMB.toFixed(0)} MB JSON (${(Number(gen.gzBytes) / 1048576).toFixed(0)} MB gzip)`,
    );
    console.log('phase                     time      rows/s        MB/s   peak RSS   output rows');

    // Extract: Postgres and s3rver only while it runs, so they take nothing from the other phases.
    let extracted = '';
    try {
      mkdirSync(scratch, { recursive: true });
      source = await startExtractSource(scratch, n);
      const r = await run('extract', source.env);
      const s = Number(r.ms) / 1000;
      const objects = await source.listRaw();
      const stored = objects.reduce((a, o) => a + o.size, 0);
      if (objects.length !== 2 || stored !== Number(r.gzBytes))
        throw new Error(
          `extract: s3rver holds ${objects.length} object(s), ${stored} bytes; expected 2, ${r.gzBytes} bytes`,
        );
      console.log(
        row(
          String(r.phase),
          s,
          Number(r.read) / s,
          (Number(r.rawBytes) / 1048576 / s).toFixed(1),
          r.peakRssMB,
          Number(r.written),
        ),
      );
      extracted = `Extract source: ${n.toLocaleString('en-US')} orders + ${source.items.toLocaleString('en-US')} lines in Postgres (loaded in ${(source.loadMs / 1000).toFixed(1)} s, not timed); ${(Number(r.rawBytes) / 1048576).toFixed(0)} MB JSON → ${(stored / 1048576).toFixed(0)} MB gzip in s3rver`;
    } catch (error) {
      const message = (error as Error).message.trim().split('\n').slice(0, 3).join(' | ');
      console.log(`${'extract (PG → S3)'.padEnd(24)} failed: ${message}`);
      extracted = 'Extract failed (the other phases do not depend on it).';
      process.exitCode = 1;
    } finally {
      await cleanUp();
    }

    for (const phase of ['ours', 'duckdb', 'aggregate']) {
      const r = await run(phase);
      const s = Number(r.ms) / 1000;
      console.log(
        row(
          String(r.phase),
          s,
          rows / s,
          phase === 'aggregate' ? '       -' : (rawMB / s).toFixed(1),
          r.peakRssMB,
          Number(r.written),
        ),
      );
    }
    const size = (engine: string) =>
      ['orders', 'order_items'].reduce(
        (a, t) => a + statSync(path.join(dir, engine, `${t}.parquet`)).size,
        0,
      ) / 1048576;
    console.log(extracted);
    console.log(`Parquet written: ours ${size('ours').toFixed(1)} MB, DuckDB ${size('duck').toFixed(1)} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
