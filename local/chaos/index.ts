/**
 * The chaos harness: starts its own local cloud (child process, free ports, own state directory),
 * runs experiments against it — load plus a fault — checks the invariants, prints them as a table,
 * and stops everything it started.
 *
 * @example
 * const results = await runChaos({ root: process.cwd(), experiments: ['kill-postgres', 'fuzz'] });
 * console.log(formatTable(results));
 *
 * @module
 */
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { ShopClient, tokenSigner } from './client.ts';
import { CloudProcess } from './cloud-process.ts';
import { type ChaosContext, type ChaosOptions, EXPERIMENTS, type ExperimentResult } from './experiments.ts';
import { INVARIANTS, type InvariantName } from './invariants.ts';

export { type ChaosOptions, EXPERIMENTS, type ExperimentResult } from './experiments.ts';
export { INVARIANTS } from './invariants.ts';

/** What `npm run chaos -- all` uses: faults longer than API Gateway's 29 s, 10,000 bad requests. */
export const FULL_OPTIONS: ChaosOptions = {
  loadSeconds: 20,
  users: 6,
  freezeSeconds: 35,
  lockSeconds: 31,
  fuzzRequests: 10_000,
  doubleCheckouts: 20,
  memoryBoundMB: 1_500,
};

export interface RunChaosOptions {
  root: string;
  experiments: string[];
  options?: Partial<ChaosOptions>;
  log?: (line: string) => void;
  /** Keep the state directory (for a post-mortem). @default false */
  keepState?: boolean;
}

export async function runChaos(run: RunChaosOptions): Promise<ExperimentResult[]> {
  const options = { ...FULL_OPTIONS, ...run.options };
  const log = run.log ?? (() => {});
  const unknown = run.experiments.filter((n) => !EXPERIMENTS.some((e) => e.name === n));
  if (unknown.length)
    throw new Error(
      `Unknown experiment(s) ${unknown.join(', ')}; known: ${EXPERIMENTS.map((e) => e.name).join(', ')}, all`,
    );
  // Inside the repository (as root, Postgres runs as `postgres` and must reach its data directory).
  const base = path.join(run.root, '.local', 'chaos');
  const runId = `run-${process.pid}-${Date.now()}`;
  const synthCache = path.join(base, 'cdk.out');
  const stateDirs: string[] = [];
  const newStateDir = () => {
    const dir = path.join(base, stateDirs.length === 0 ? runId : `${runId}-${stateDirs.length + 1}`);
    mkdirSync(dir, { recursive: true });
    if (existsSync(synthCache)) cpSync(synthCache, path.join(dir, 'cdk.out'), { recursive: true });
    stateDirs.push(dir);
    return dir;
  };
  let stateDir = newStateDir();

  log(`starting a local cloud in ${path.relative(run.root, stateDir)}`);
  const start = (label: string, port?: number) =>
    CloudProcess.start({ root: run.root, stateDir, port, workerIdleSeconds: 15, label });
  const ctx: ChaosContext = {
    cloud: await start('start', 0),
    options,
    log,
    sign: await tokenSigner(stateDir),
    async crashAndRestart() {
      const port = Number(new URL(ctx.cloud.apiUrl).port);
      log('kill-cloud: SIGKILL of the whole process tree');
      await ctx.cloud.crash();
      ctx.cloud = await start('restart-after-kill', port);
      log(`kill-cloud: restarted at ${ctx.cloud.apiUrl}`);
    },
  };
  rmSync(synthCache, { recursive: true, force: true });
  cpSync(path.join(stateDir, 'cdk.out'), synthCache, { recursive: true });
  log(`local cloud ready at ${ctx.cloud.apiUrl}`);

  /**
   * Each experiment starts on a cloud that answers: one that an earlier experiment left dead or
   * broken is restarted on its state, and when that fails too, replaced by a new cloud on a new
   * state directory, so one failure does not fail every experiment after it.
   */
  const ensureCloud = async (name: string) => {
    if (ctx.cloud.running && (await ctx.cloud.answers())) return;
    log(`${name}: the local cloud is down after the previous experiment; restarting it`);
    await ctx.cloud.stop();
    try {
      ctx.cloud = await start(`restart-before-${name}`, 0);
    } catch (error) {
      log(
        `${name}: the restart failed (${(error as Error).message.split('\n')[0]}); starting on a new state`,
      );
      stateDir = newStateDir();
      ctx.cloud = await start(`new-state-before-${name}`, 0);
      ctx.sign = await tokenSigner(stateDir);
    }
  };

  const results: ExperimentResult[] = [];
  try {
    for (const name of run.experiments) {
      const experiment = EXPERIMENTS.find((e) => e.name === name);
      if (!experiment) continue;
      log(`${name}: ${experiment.fault}`);
      const client = new ShopClient(() => ctx.cloud.apiUrl);
      const started = performance.now();
      let verdicts: ExperimentResult['verdicts'] = {};
      let error: string | undefined;
      try {
        await ensureCloud(name);
        verdicts = await experiment.run(ctx, client);
      } catch (e) {
        error = (e as Error).message;
        log(`${name}: failed: ${error}`);
        await ctx.cloud.control('/faults', { method: 'DELETE' }).catch(() => {});
      }
      const statuses: Record<string, number> = {};
      for (const s of client.samples) {
        const key = s.status === 0 ? 'none' : `${Math.floor(s.status / 100)}xx`;
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
      results.push({
        name,
        verdicts,
        requests: client.samples.length,
        statuses,
        seconds: Math.round((performance.now() - started) / 100) / 10,
        ...(error ? { error } : {}),
      });
    }
  } finally {
    await ctx.cloud.stop();
    const failed = !allHeld(results) || results.length < run.experiments.length;
    if (failed) {
      // The evidence of a failure stays: the state directories, and every start's log under test-results/.
      const kept = path.join(run.root, 'test-results', 'chaos', runId);
      for (const dir of stateDirs) {
        const logs = path.join(dir, 'logs');
        if (existsSync(logs)) cpSync(logs, path.join(kept, path.basename(dir)), { recursive: true });
      }
      log(`logs of every local-cloud start kept in ${path.relative(run.root, kept)}`);
    }
    if (failed || run.keepState) {
      log(`state kept in ${stateDirs.map((d) => path.relative(run.root, d)).join(', ')}`);
    } else {
      for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

/** Whether every applicable invariant of every experiment held (and none failed to run). */
export function allHeld(results: ExperimentResult[]): boolean {
  return results.every((r) => !r.error && Object.values(r.verdicts).every((v) => v.held !== false));
}

/** The results as a table: ✓ held, ✗ broken, – not applicable; then the details. */
export function formatTable(results: ExperimentResult[]): string {
  const names = Object.keys(INVARIANTS) as InvariantName[];
  const header = ['experiment', ...names.map((n) => INVARIANTS[n]), 'requests', 'time'];
  const rows = results.map((r) => [
    r.name,
    ...names.map((n) => {
      if (r.error) return '✗';
      const v = r.verdicts[n];
      return v === undefined || v.held === undefined ? '–' : v.held ? '✓' : '✗';
    }),
    String(r.requests),
    `${r.seconds} s`,
  ]);
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  const details = results.flatMap((r) => [
    `${r.name} (${Object.entries(r.statuses)
      .map(([k, v]) => `${v} × ${k}`)
      .join(', ')})${r.error ? `: ERROR ${r.error}` : ''}`,
    ...names.flatMap((n) => {
      const v = r.verdicts[n];
      return v ? [`  ${v.held === undefined ? '–' : v.held ? '✓' : '✗'} ${INVARIANTS[n]}: ${v.detail}`] : [];
    }),
  ]);
  return `${lines.join('\n')}\n\n${details.join('\n')}\n`;
}
