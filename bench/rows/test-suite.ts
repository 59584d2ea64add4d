/**
 * The test suite's wall time. By default READS the last full `npm test` run recorded by the vitest
 * reporter test/timing-reporter.ts (`.local/last-full-test-run.json`, else the latest `.local/last-test-run.json`); `BENCH_RUN_TESTS=1` RUNS
 * `npm test` instead and times it (several minutes). The report says which one it was.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type BenchRow, goal, measure } from '../lib/row.ts';

export interface RecordedTestRun {
  startedAt: string;
  wallMs: number;
  projects: string[];
  passed: number;
  failed: number;
  full: boolean;
  /** Each file's import, setup and test time, slowest first (runs recorded since 2026-12-02). */
  files?: { file: string; project: string; ms: number }[];
}

/**
 * Where a run's time went, from its files' times: per project (summed: files of one project may run
 * side by side, integration's one at a time) and the slowest files.
 *
 * @example
 * whereTimeGoes([{ file: 'test/integration/a.test.ts', project: 'integration', ms: 90_000 }]);
 * // 'files by project: integration 1.5 min; slowest: integration/a 1.5 min'
 */
export function whereTimeGoes(files: NonNullable<RecordedTestRun['files']>, top = 5): string {
  const byProject = new Map<string, number>();
  for (const f of files) byProject.set(f.project, (byProject.get(f.project) ?? 0) + f.ms);
  const min = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;
  const projects = [...byProject].sort((a, b) => b[1] - a[1]).map(([p, ms]) => `${p} ${min(ms)}`);
  const slowest = [...files]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top)
    .map((f) => `${f.file.replace(/^test\//, '').replace(/\.test\.ts$/, '')} ${min(f.ms)}`);
  return `files by project: ${projects.join(', ')}; slowest: ${slowest.join(', ')}`;
}

export const row: BenchRow = {
  name: 'test-suite',
  title: 'npm test wall time',
  order: 60,
  async run(ctx) {
    const latest = path.join(ctx.root, '.local', 'last-test-run.json');
    const fullRun = path.join(ctx.root, '.local', 'last-full-test-run.json');
    const record = process.env.BENCH_RUN_TESTS !== '1' && existsSync(fullRun) ? fullRun : latest;
    let how: string;
    let run: RecordedTestRun;
    if (process.env.BENCH_RUN_TESTS === '1') {
      const t0 = performance.now();
      const out = spawnSync('npm', ['test'], { cwd: ctx.root, stdio: 'inherit' });
      const wallMs = performance.now() - t0;
      run = existsSync(record)
        ? (JSON.parse(readFileSync(record, 'utf8')) as RecordedTestRun)
        : { startedAt: '', wallMs, projects: [], passed: 0, failed: out.status ? 1 : 0, full: true };
      run.wallMs = wallMs;
      how = 'ran `npm test` in this bench run';
    } else {
      if (!existsSync(record))
        return {
          measurements: [],
          notes: [
            'no recorded `npm test` run yet (.local/last-test-run.json): run `npm test` once, or BENCH_RUN_TESTS=1',
          ],
        };
      run = JSON.parse(readFileSync(record, 'utf8')) as RecordedTestRun;
      if (!run.full) how = `recorded run of ${run.projects.join(', ')} only`;
      else how = `read from the last full \`npm test\` (${run.startedAt})`;
    }
    const minutes = run.wallMs / 60_000;
    return {
      measurements: [
        measure(
          'npm test wall time',
          minutes,
          'min',
          undefined,
          undefined,
          `${how}; ${run.passed} passed, ${run.failed} failed`,
        ),
      ],
      goals: run.full
        ? [
            goal(
              'npm test wall time on this machine',
              minutes,
              '<=',
              4,
              'min',
              run.files?.length ? `${how}; ${whereTimeGoes(run.files)}` : how,
            ),
          ]
        : [],
      notes: [how],
    };
  },
};
