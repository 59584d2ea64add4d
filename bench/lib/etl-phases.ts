/**
 * The ETL row's phases, each run in its own process (`node bench/lib/etl-phases.ts --phase P --dir D
 * --orders N`) so that its peak RSS is its own; each prints one JSON line with its counts, time and
 * peak RSS. Used by bench/rows/etl.ts.
 *
 * - generate: N synthetic orders (~2 lines each, 10% also in a later cancelled version) as raw gzip
 *   JSON Lines, exactly as the extract writes them;
 * - extract: `extractOrders` (shared/etl/adapters/extract.ts) from a Postgres loaded with N orders (see
 *   {@link startExtractSource}) to s3rver; extract-copy: the baseline, Postgres' own `COPY` of the
 *   same JSON rows, read and discarded;
 * - ours: the transform's own code (shared/etl/use-cases/curate.ts: validate with reasons, de-duplicate,
 *   enrich, Parquet, in DuckDB) on local files; duckdb: the bare raw → Parquet conversion (latest
 *   version per key, no validation) in DuckDB with the same threads (and its own memory limit);
 * - aggregate: the report SQL on DuckDB with the results written by our Parquet writer, as the
 *   aggregate step does (with its memory limit); aggregate-duck: DuckDB
 *   writing the same results itself (`COPY … TO`).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { DuckDbEngine, duckResources } from '../../shared/etl/adapters/engines.ts';
import { GzipLinesFile } from '../../shared/etl/adapters/gzip-lines.ts';
import { ParquetFile } from '../../shared/etl/adapters/parquet.ts';
import { REPORT_SQL } from '../../shared/etl/domain/sql.ts';
import { curateTable } from '../../shared/etl/use-cases/curate.ts';
import { EXTRACT_DATE } from './etl-source.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '100000' },
    phase: { type: 'string' },
    dir: { type: 'string' },
  },
});

/** Prints the phase's result with the process's peak RSS (VmHWM: the kernel's high-water mark). */
const finish = (result: Record<string, unknown>) => {
  const hwmKb = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  const peakRssMB = Math.round(Math.max(hwmKb * 1024, process.memoryUsage().rss) / 1048576);
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMB })}\n`);
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

/** The transform's own code (shared/etl/use-cases/curate.ts) on the same local files, as transformDay runs it. */
async function oursTransform(dir: string) {
  const out = path.join(dir, 'ours');
  mkdirSync(out, { recursive: true });
  // The catalog snapshot, as the extract writes it (not timed: the baseline does not enrich).
  const catalog = new GzipLinesFile(path.join(dir, 'catalog.jsonl.gz'));
  for (const p of PRODUCTS)
    await catalog.write(
      JSON.stringify({ productId: p.id, name: p.name, category: p.category, priceCents: 1000 }),
    );
  await catalog.close();
  const engine = await DuckDbEngine.create({ dir: path.join(dir, 'spill-ours'), ...duckResources() });
  const started = performance.now();
  let read = 0;
  let written = 0;
  for (const [table, file] of [
    ['products', 'catalog.jsonl.gz'],
    ['orders', 'orders.jsonl.gz'],
    ['order_items', 'items.jsonl.gz'],
  ] as const) {
    const stats = await curateTable(engine, {
      table,
      files: [{ file: path.join(dir, file), key: file }],
      parquet: path.join(out, `${table}.parquet`),
      quarantine: path.join(out, `${table}-rejected.jsonl.gz`),
    });
    if (table === 'products') continue;
    read += stats.rowsRead;
    written += stats.rowsWritten;
  }
  await engine.close();
  finish({ phase: 'transform (ours)', read, written, ms: Math.round(performance.now() - started) });
}

async function duckTransform(dir: string) {
  const out = path.join(dir, 'duck');
  mkdirSync(out, { recursive: true });
  // The same threads as ours, and DuckDB's own memory limit: its window function cannot spill all
  // it holds, and at our limit (256 MB) it ran out of memory at 1M orders. Its peak RSS is reported.
  const engine = await DuckDbEngine.create({
    dir: path.join(dir, 'spill-duck'),
    threads: duckResources().threads,
  });
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

async function curatedViews(engine: DuckDbEngine, dir: string) {
  for (const table of ['orders', 'order_items'])
    await engine.run(
      `create view curated_${table} as select *, '2025-05-01' as dt from '${dir}/ours/${table}.parquet'`,
    );
}

/** As the aggregate step: the report SQL on DuckDB, rows back to Node, written by our Parquet writer. */
async function aggregate(dir: string) {
  // With the memory limit and threads DuckDbEngine.overLake sets (duckResources(): 256 MB off Lambda).
  const engine = await DuckDbEngine.create({ dir: path.join(dir, 'spill-aggregate'), ...duckResources() });
  const out = path.join(dir, 'aggregate-ours');
  mkdirSync(out, { recursive: true });
  const started = performance.now();
  await curatedViews(engine, dir);
  let rows = 0;
  for (const [name, spec] of Object.entries(REPORT_SQL)) {
    const parquet = new ParquetFile(path.join(out, `${name}.parquet`), spec.columns);
    for (const row of await engine.query(spec.sql(['2025-05-01']))) parquet.append(row);
    parquet.close();
    rows += parquet.rows;
  }
  await engine.close();
  finish({ phase: 'aggregate (ours)', written: rows, ms: Math.round(performance.now() - started) });
}

/** Baseline: the same SQL, DuckDB writing the Parquet itself. */
async function aggregateDuck(dir: string) {
  const engine = await DuckDbEngine.create();
  const out = path.join(dir, 'aggregate-duck');
  mkdirSync(out, { recursive: true });
  const started = performance.now();
  await curatedViews(engine, dir);
  for (const [name, spec] of Object.entries(REPORT_SQL))
    await engine.run(`copy (${spec.sql(['2025-05-01'])}) to '${out}/${name}.parquet' (format parquet)`);
  await engine.close();
  finish({ phase: 'aggregate (DuckDB COPY)', ms: Math.round(performance.now() - started) });
}

/** Baseline of the extract: Postgres' own COPY of the same JSON rows, read and thrown away. */
async function extractCopy() {
  const { default: pgModule } = await import('pg');
  const { to } = await import('pg-copy-streams');
  const { Writable } = await import('node:stream');
  const { pipeline } = await import('node:stream/promises');
  const client = new pgModule.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const started = performance.now();
    let rawBytes = 0;
    let read = 0;
    for (const sql of [
      'select row_to_json(o)::text from orders o order by o.updated_at, o.order_id',
      `select (to_jsonb(i) || jsonb_build_object('order_updated_at', o.updated_at, 'order_created_at', o.created_at))::text
         from order_items i join orders o on o.region = i.region and o.order_id = i.order_id
        order by o.updated_at, i.order_id, i.product_id`,
    ]) {
      await pipeline(
        client.query(to(`copy (${sql}) to stdout`)),
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            rawBytes += chunk.length;
            for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) read++;
            done();
          },
        }),
      );
    }
    finish({ phase: 'extract baseline (COPY)', read, rawBytes, ms: Math.round(performance.now() - started) });
  } finally {
    await client.end();
  }
}

/** The extract phase (child process): the environment it needs is set by the parent before it starts. */
async function extract() {
  const { default: pgModule } = await import('pg');
  const { extractOrders } = await import('../../shared/etl/adapters/extract.ts');
  const { EPOCH_WATERMARK } = await import('../../shared/etl/adapters/state.ts');
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
  else if (values.phase === 'aggregate-duck') await aggregateDuck(dir);
  else if (values.phase === 'extract-copy') await extractCopy();
  else throw new Error(`unknown phase ${values.phase}`);
  process.exit(0);
}
