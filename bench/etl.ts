/**
 * `npm run bench:etl -- [--orders 100000,1000000] [--chunk 50000]`
 *
 * Generates N synthetic orders (with ~2.5 lines each and 10% of orders present in two versions, a
 * placement and a later cancellation) as raw gzip JSON Lines, exactly as the extract writes them,
 * then measures, each phase in its own process (so peak memory is its own):
 *
 * - transform (ours): stream → validate → external-sort dedupe → Parquet (hyparquet-writer), the
 *   building blocks of shared/etl/transform.ts, on local files instead of S3;
 * - transform (DuckDB): the same raw → Parquet conversion (latest version per key) in DuckDB;
 * - aggregate: the daily_sales / top_products / cancellations SQL on DuckDB over the curated files.
 *
 * Reports rows/s, MB/s (of uncompressed raw JSON) and peak RSS. Extract is not benchmarked here
 * (it needs Postgres loaded with N orders); its per-run throughput is in every run's record.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
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

if (values.phase) {
  const dir = values.dir as string;
  if (values.phase === 'generate')
    finish({ phase: 'generate', ...(await generate(dir, Number(values.orders))) });
  else if (values.phase === 'ours') await oursTransform(dir);
  else if (values.phase === 'duckdb') await duckTransform(dir);
  else if (values.phase === 'aggregate') await aggregate(dir);
  process.exit(0);
}

const self = new URL(import.meta.url).pathname;
for (const n of values.orders.split(',').map(Number)) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-etl-'));
  try {
    const run = (phase: string) => {
      const out = spawnSync(
        process.execPath,
        [self, '--phase', phase, '--dir', dir, '--orders', String(n), '--chunk', values.chunk],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 24,
        },
      );
      if (out.status !== 0) throw new Error(`${phase}: ${out.stderr}`);
      return JSON.parse(out.stdout.trim().split('\n').pop() as string) as Record<string, number | string>;
    };
    const gen = run('generate');
    const rawMB = Number(gen.rawBytes) / 1048576;
    const rows = Number(gen.orderLines) + Number(gen.itemLines);
    console.log(
      `\n${n.toLocaleString('en-US')} orders: ${rows.toLocaleString('en-US')} raw rows, ${rawMB.toFixed(0)} MB JSON (${(Number(gen.gzBytes) / 1048576).toFixed(0)} MB gzip)`,
    );
    console.log('phase                     time      rows/s        MB/s   peak RSS   output rows');
    for (const phase of ['ours', 'duckdb', 'aggregate']) {
      const r = run(phase);
      const s = Number(r.ms) / 1000;
      const input = phase === 'aggregate' ? Number(r.written) : rows;
      console.log(
        `${String(r.phase).padEnd(24)} ${s.toFixed(2).padStart(6)} s ${Math.round(
          (phase === 'aggregate' ? Number(gen.orderLines) + Number(gen.itemLines) : input) / s,
        )
          .toLocaleString('en-US')
          .padStart(
            11,
          )} ${phase === 'aggregate' ? '       -' : (rawMB / s).toFixed(1).padStart(8)}   ${String(r.peakRssMB).padStart(5)} MB   ${Number(r.written).toLocaleString('en-US').padStart(11)}`,
      );
    }
    const size = (engine: string) =>
      ['orders', 'order_items'].reduce(
        (a, t) => a + statSync(path.join(dir, engine, `${t}.parquet`)).size,
        0,
      ) / 1048576;
    console.log(`Parquet written: ours ${size('ours').toFixed(1)} MB, DuckDB ${size('duck').toFixed(1)} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
