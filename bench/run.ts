/**
 * `npm run bench [-- --quick] [--only row1,row2] [--no-write]`
 *
 * One command, one report: every row under bench/rows/ (see bench/lib/row.ts for the interface),
 * each a ratio against a baseline measured in the same run on the same machine, then the issue's
 * goals as PASS/FAIL lines. Writes bench/results/<date>.json (rows of a partial `--only` run are
 * merged into the day's file) and regenerates the README's benchmark section from it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type RunningCloud, startCloud } from './lib/cloud.ts';
import { type BenchResults, renderReport, updateReadme } from './lib/report.ts';
import type { BenchContext, BenchRow, RowResult } from './lib/row.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});

const root = path.resolve(import.meta.dirname, '..');
const rowsDir = path.join(import.meta.dirname, 'rows');
const rows: BenchRow[] = [];
for (const file of readdirSync(rowsDir)
  .filter((f) => f.endsWith('.ts'))
  .sort()) {
  const module = (await import(path.join(rowsDir, file))) as { row?: BenchRow };
  if (!module.row) throw new Error(`bench/rows/${file} exports no \`row\``);
  rows.push(module.row);
}
rows.sort((a, b) => (a.order ?? 1e9) - (b.order ?? 1e9) || a.name.localeCompare(b.name));
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((name) => !rows.some((r) => r.name === name)) ?? [];
if (unknown.length) {
  console.error(`unknown row(s): ${unknown.join(', ')}; rows: ${rows.map((r) => r.name).join(', ')}`);
  process.exit(2);
}
const selected = rows.filter((r) => !only || only.includes(r.name));

const scratch = path.join(root, '.local', `bench-${process.pid}`);
mkdirSync(scratch, { recursive: true });
let shared: Promise<{ cloud: RunningCloud; stopPostgres: () => Promise<void> }> | undefined;
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const ctx: BenchContext = {
  quick: values.quick,
  root,
  scratch,
  log,
  async cloud() {
    shared ??= (async () => {
      // Our own Postgres, so rows can reach it directly (the baselines) with a known URL.
      const { startPostgres } = await import('../local/emulators/index.ts');
      const postgres = await startPostgres({
        stateDir: path.join(scratch, 'shared-postgres'),
        port: 0,
        permissionRoot: scratch,
      });
      log('starting the shared local cloud');
      const cloud = await startCloud({
        root,
        stateDir: path.join(scratch, 'shared-cloud'),
        databaseUrl: postgres.url,
        collectLogs: true,
      });
      return { cloud, stopPostgres: () => postgres.stop() };
    })();
    return (await shared).cloud;
  },
};

const stopShared = async () => {
  const s = shared;
  shared = undefined;
  if (!s) return;
  const { cloud, stopPostgres } = await s;
  await cloud.stop();
  await stopPostgres();
};
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    void stopShared().finally(() => {
      rmSync(scratch, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

const date = new Date().toISOString().slice(0, 10);
const results: BenchResults = {
  date,
  startedAt: new Date().toISOString(),
  quick: values.quick,
  machine: await machine(),
  rows: {},
};
const file = path.join(import.meta.dirname, 'results', `${date}.json`);
/** Writes the results so far (after every row: a run stopped half-way keeps what it measured). */
const save = () => {
  if (values['no-write']) return;
  // The day's file keeps rows this run did not measure (a partial --only run, an interrupted run).
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BenchResults) : undefined;
  const merged: BenchResults = {
    ...results,
    rows: { ...(previous?.rows ?? carriedOver()), ...results.rows },
  };
  merged.quick = Object.values(merged.rows).some((r) => r.quick);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  updateReadme(path.join(root, 'README.md'), merged, path.relative(root, file));
  return merged;
};
/**
 * The first partial run of a day starts from the newest earlier file's rows, each marked with the
 * day it was measured (the README then still shows every row, and says which are older).
 */
function carriedOver(): BenchResults['rows'] {
  if (!only) return {};
  const dir = path.dirname(file);
  const earlier = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f) && f < path.basename(file))
        .sort()
        .at(-1)
    : undefined;
  if (!earlier) return {};
  const old = JSON.parse(readFileSync(path.join(dir, earlier), 'utf8')) as BenchResults;
  return Object.fromEntries(
    Object.entries(old.rows).map(([name, row]) => [name, { ...row, measuredOn: row.measuredOn ?? old.date }]),
  );
}
const lastShared = selected.findLastIndex((r) => r.sharedCloud);
try {
  for (const [index, row] of selected.entries()) {
    if (interrupted) break;
    log(`${row.name}: ${row.title}`);
    const t0 = performance.now();
    let result: RowResult;
    try {
      result = await row.run(ctx);
    } catch (error) {
      result = { measurements: [], notes: [`FAILED: ${(error as Error).stack ?? error}`] };
      // What the shared cloud said last about failures helps to tell a bench bug from a system one.
      const cloudLogs = shared ? (await shared).cloud.logs : [];
      const failures = cloudLogs.filter(
        (l) =>
          l.level === 'ERROR' ||
          (l.record as { status?: string } | undefined)?.status === 'error' ||
          (l.record as { status?: string } | undefined)?.status === 'timeout',
      );
      for (const l of failures.slice(-3)) result.notes?.push(`cloud: ${JSON.stringify(l).slice(0, 400)}`);
      process.exitCode = 1;
    }
    results.rows[row.name] = {
      title: row.title,
      order: row.order,
      seconds: (performance.now() - t0) / 1000,
      quick: values.quick,
      ...result,
    };
    log(`${row.name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    save();
    // The rows after this one measure their own processes: nothing of ours should run beside them.
    if (index === lastShared) await stopShared();
  }
} finally {
  await stopShared();
  rmSync(scratch, { recursive: true, force: true });
}

process.stdout.write(renderReport(save() ?? results));
if (!values['no-write'])
  process.stdout.write(`\nwritten: ${path.relative(root, file)}, README.md (benchmark section)\n`);

async function machine() {
  const os = await import('node:os');
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
  };
}
