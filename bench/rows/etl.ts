/**
 * The ETL stages against the same work done by a reference tool on the same input, at two sizes
 * (100k and 1M orders; `--quick`: 10k and 50k), each phase in its own process (its own peak RSS):
 *
 * - extract: `extractOrders` (Postgres → gzip JSON Lines → s3rver) vs Postgres' own `COPY` of the
 *   same JSON rows, read and discarded (DuckDB cannot read Postgres here: its postgres extension is
 *   downloaded at run time, and this machine has no internet);
 * - transform: ours (shared/etl/use-cases/curate.ts: validation with reasons, quarantine, de-duplication,
 *   enrichment, Parquet, in DuckDB, with the production's memory limit) vs DuckDB converting the same
 *   raw files to Parquet with the latest version per key and nothing else (same threads, no memory
 *   limit: at ours it runs out of memory at 1M orders);
 * - aggregate: the report SQL on DuckDB written by our Parquet writer vs DuckDB's `COPY … TO`.
 *
 * Linearity: time at the large size ÷ time at the small size ÷ the size ratio (1.00 = linear).
 */

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { duckResources } from '../../shared/etl/adapters/engines.ts';
import { startExtractSource } from '../lib/etl-source.ts';
import { type BenchRow, type Goal, goal, type Measurement, measure } from '../lib/row.ts';

const execFileAsync = promisify(execFile);
const PHASES = path.join(import.meta.dirname, '..', 'lib', 'etl-phases.ts');

type Result = Record<string, number | string>;

export const row: BenchRow = {
  name: 'etl',
  title: 'ETL extract / transform / aggregate vs Postgres COPY and DuckDB on the same input',
  order: 40,
  async run(ctx) {
    const sizes = ctx.quick ? [10_000, 50_000] : [100_000, 1_000_000];
    const measurements: Measurement[] = [];
    const bySize = new Map<number, Record<string, Result>>();
    for (const n of sizes) {
      const dir = mkdtempSync(path.join(tmpdir(), 'bench-etl-'));
      const phase = async (name: string, env?: NodeJS.ProcessEnv): Promise<Result> => {
        try {
          const { stdout } = await execFileAsync(
            process.execPath,
            [PHASES, '--phase', name, '--dir', dir, '--orders', String(n)],
            { encoding: 'utf8', maxBuffer: 1 << 24, env },
          );
          return JSON.parse(stdout.trim().split('\n').pop() as string) as Result;
        } catch (error) {
          const { stderr } = error as { stderr?: string };
          throw new Error(`${name} (${n} orders): ${stderr || (error as Error).message}`, { cause: error });
        }
      };
      try {
        const label = n.toLocaleString('en-US');
        ctx.log(`etl ${label}: generating`);
        const gen = await phase('generate');
        const rawRows = Number(gen.orderLines) + Number(gen.itemLines);
        // Extract: Postgres and s3rver only while it runs, so they take nothing from the other phases.
        const stateDir = path.join(ctx.scratch, `etl-${n}`);
        mkdirSync(stateDir, { recursive: true });
        ctx.log(`etl ${label}: loading Postgres`);
        const source = await startExtractSource(stateDir, n);
        let extract: Result;
        let copy: Result;
        try {
          ctx.log(`etl ${label}: extract`);
          copy = await phase('extract-copy', source.env);
          extract = await phase('extract', source.env);
          const stored = (await source.listRaw()).reduce((a, o) => a + o.size, 0);
          if (stored !== Number(extract.gzBytes))
            throw new Error(`extract: s3rver holds ${stored} bytes, the extract wrote ${extract.gzBytes}`);
        } finally {
          await source.stop();
          rmSync(stateDir, { recursive: true, force: true });
        }
        ctx.log(`etl ${label}: transform and aggregate`);
        const ours = await phase('ours');
        const duck = await phase('duckdb');
        const agg = await phase('aggregate');
        const aggDuck = await phase('aggregate-duck');
        bySize.set(n, { extract, copy, ours, duck, agg, aggDuck });
        const perS = (rows: number, r: Result) => rows / (Number(r.ms) / 1000);
        const extractRows = Number(extract.read);
        measurements.push(
          measure(
            `extract ${label} orders`,
            perS(extractRows, extract),
            'rows/s',
            'Postgres COPY of the same rows',
            perS(Number(copy.read), copy),
            `${extractRows.toLocaleString('en-US')} rows, ${(Number(extract.rawBytes) / 1048576).toFixed(0)} MB JSON, peak RSS ${extract.peakRssMB} MB`,
          ),
          measure(
            `transform ${label} orders`,
            perS(rawRows, ours),
            'rows/s',
            'DuckDB raw → Parquet, latest per key',
            perS(rawRows, duck),
            `${rawRows.toLocaleString('en-US')} raw rows; peak RSS ours ${ours.peakRssMB} MB, DuckDB ${duck.peakRssMB} MB`,
          ),
          measure(
            `aggregate ${label} orders`,
            perS(rawRows, agg),
            'rows/s',
            'DuckDB COPY of the same SQL',
            perS(rawRows, aggDuck),
            `rows/s over the raw rows; peak RSS ${agg.peakRssMB} MB`,
          ),
          measure(
            `peak RSS ${label} orders (largest of our stages)`,
            Math.max(Number(extract.peakRssMB), Number(ours.peakRssMB), Number(agg.peakRssMB)),
            'MB',
            'DuckDB transform',
            Number(duck.peakRssMB),
          ),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const [small, large] = sizes as [number, number];
    const s = bySize.get(small) as Record<string, Result>;
    const l = bySize.get(large) as Record<string, Result>;
    const growth = (k: string) => Number(l[k]?.ms) / Number(s[k]?.ms) / (large / small);
    const big = measurements.slice(-4);
    const [extractM, transformM, , rssM] = big as [Measurement, Measurement, Measurement, Measurement];
    const size = large.toLocaleString('en-US');
    const goals: Goal[] = [
      goal(
        `transform ÷ DuckDB at ${size} orders`,
        transformM.ratio ?? Number.NaN,
        '>=',
        0.7,
        '×',
        `both run in DuckDB and read with its JSON reader; ours also checks and types every field (a reason per rejected line), keeps the checked rows in a temp table for the counts, and de-duplicates and sorts within its ${duckResources().memoryLimitMB} MB memory limit, spilling to disk; the baseline runs without a limit (at ours it ran out of memory) and only converts`,
      ),
      goal(`extract at ${size} orders`, extractM.value, '>=', 100_000, 'rows/s'),
      goal(
        `peak RSS at ${size} orders`,
        rssM.value,
        '<=',
        512,
        'MB',
        `extract ${l.extract?.peakRssMB} MB, transform ${l.ours?.peakRssMB} MB, aggregate ${l.agg?.peakRssMB} MB: the transform is DuckDB's memory_limit (${duckResources().memoryLimitMB} MB) on top of about 150 MB of Node and DuckDB before any work, plus what glibc holds between DuckDB's flushes; the aggregate the same limit and threads (the DuckDB baseline, with no validation, peaked at ${l.duck?.peakRssMB} MB)`,
      ),
      goal(
        `extract time growth ${small.toLocaleString('en-US')} → ${size} (1.00 = linear)`,
        growth('extract'),
        '<=',
        1.15,
        '×',
      ),
      goal(
        `transform time growth ${small.toLocaleString('en-US')} → ${size} (1.00 = linear)`,
        growth('ours'),
        '<=',
        1.15,
        '×',
      ),
    ];
    for (const g of goals) if (g.pass) g.note = undefined;
    return { measurements, goals };
  },
};
