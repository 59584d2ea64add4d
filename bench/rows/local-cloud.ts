/**
 * The embedded local cloud: `npm start` → ready on a fresh clone (no state, no synth cache) and
 * again with everything cached, and the memory of its whole process tree (gateway, Lambda workers,
 * emulators) idle and after a burst of 10,000 requests (`--quick`: 1,000) over several routes at
 * concurrency 32. Baselines: the emulators alone — their share of the start (from the ready line)
 * and their memory (DynamoDB Local, s3rver, Postgres) — which any local setup of these stores pays.
 * Memory is PSS summed over the tree (shared pages counted once; see {@link processTree}); the
 * RSS sum, which counts the Node binary once per worker, is in the notes.
 */
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { call, processTree, type RunningCloud, startCloud, type treeRss } from '../lib/cloud.ts';
import { type BenchRow, goal, measure, runConcurrently } from '../lib/row.ts';

/** PSS in MB of the emulator processes of a local cloud (DynamoDB Local's Java, Postgres, s3rver). */
const emulatorRss = (rootPid: number) =>
  processTree(rootPid)
    .filter((p) => /java|postgres|s3rver/.test(p.cmdline))
    .reduce((n, p) => n + p.pssKb, 0) / 1024;

/** Seconds of the emulators' start, from `ready … (synth 0.1s, emulators 1.1s, deploy 0.3s)`. */
const emulatorsSeconds = (line: string) => Number(/emulators ([\d.]+)s/.exec(line)?.[1] ?? Number.NaN);

/**
 * Why a start missed its goal: where its time went (the parts overlap, each is its own duration), its
 * CPU time, and how busy the machine was.
 */
const missed = (cloud: RunningCloud, load: number, why = '') =>
  `${cloud.readyLine.replace(/^ready \S+ /, '').replace(/ · console.*/, '')}; ${cloud.readyCpuSeconds.toFixed(1)} CPU-seconds on ${cpus().length} cores; load average ${load.toFixed(1)}${why}`;

/** Measured apart from the row (getrusage over a local synth's process tree, issue 14). */
const FRESH_WHY =
  '. The synth is most of it: its one esbuild build of the 15 handler bundles (37 MB, minified, with source maps, each with its own AWS SDK) takes 9-10 of its 16 CPU-s, at least 5 s on 2 cores, before the deploy can start';

/** Measured apart from the row (DynamoDB Local alone, 3 runs each, issue 14). */
const CACHED_WHY =
  ". The longest part is DynamoDB Local's JVM: 1.7-2.0 CPU-s to its first answer with its class archive (3.3 without), then the replication's table checks and the deploy on it";

export const row: BenchRow = {
  name: 'local-cloud',
  title: 'npm start → ready (fresh clone, cached), RSS idle and after a request burst',
  order: 50,
  async run(ctx) {
    const stateDir = path.join(ctx.scratch, 'local-cloud');
    const burst = ctx.quick ? 1_000 : 10_000;
    const cold = await startCloud({ root: ctx.root, stateDir });
    let idle: ReturnType<typeof treeRss>;
    let after: ReturnType<typeof treeRss>;
    let idleEmulators: number;
    let afterEmulators: number;
    let failed = 0;
    try {
      await new Promise((r) => setTimeout(r, 3000));
      idle = cold.rss();
      idleEmulators = emulatorRss(cold.child.pid as number);
      const admin = await cold.token('bench-admin', true);
      const shopper = await cold.token('bench-shopper');
      const product = await call<{ productId: string }>(cold.url, 'POST', '/products', {
        token: admin,
        body: { name: 'Burst mug', category: 'bench', priceCents: 999, currency: 'EUR' },
        retries: 3,
      });
      const routes: [string, string | undefined][] = [
        ['/health', undefined],
        [`/products/${product.productId}`, undefined],
        ['/products?category=bench&limit=10', undefined],
        ['/me', shopper],
        ['/cart', shopper],
        ['/orders?limit=5', shopper],
      ];
      ctx.log(`local-cloud: ${burst} requests`);
      await runConcurrently(burst, 32, async (i) => {
        const [route, token] = routes[i % routes.length] as [string, string | undefined];
        try {
          const response = await fetch(`${cold.url}${route}`, {
            headers: token ? { authorization: `Bearer ${token}` } : {},
          });
          await response.arrayBuffer();
          if (response.status >= 400) failed++;
        } catch {
          failed++; // a refused or reset connection is counted, not fatal: the RSS after it is the point
        }
      });
      after = cold.rss();
      afterEmulators = emulatorRss(cold.child.pid as number);
    } finally {
      await cold.stop();
    }
    const cached = await startCloud({ root: ctx.root, stateDir });
    await cached.stop();
    const load = loadavg()[0] ?? 0;
    const coldS = cold.readyMs / 1000;
    const cachedS = cached.readyMs / 1000;
    const emulatorsName = 'emulators alone (from the ready line)';
    return {
      measurements: [
        measure(
          'start → ready, fresh clone (no state, no synth cache)',
          coldS,
          's',
          emulatorsName,
          emulatorsSeconds(cold.readyLine),
          `${cold.readyCpuSeconds.toFixed(1)} CPU-s; ${cold.readyLine}`,
        ),
        measure(
          'start → ready, cached (second start)',
          cachedS,
          's',
          emulatorsName,
          emulatorsSeconds(cached.readyLine),
          `${cached.readyCpuSeconds.toFixed(1)} CPU-s; ${cached.readyLine}`,
        ),
        measure(
          `memory (PSS) idle (${idle.processes} processes)`,
          idle.mb,
          'MB',
          'emulators alone',
          idleEmulators,
          `RSS summed over the processes: ${Math.round(idle.rssMb)} MB`,
        ),
        measure(
          `memory (PSS) after ${burst.toLocaleString('en-US')} requests (${after.processes} processes)`,
          after.mb,
          'MB',
          'emulators alone',
          afterEmulators,
          `${failed} of ${burst} answered ≥ 400; RSS summed over the processes: ${Math.round(after.rssMb)} MB; PSS by kind: ${Object.entries(
            after.byKind,
          )
            .sort((a, b) => b[1].mb - a[1].mb)
            .map(([kind, k]) => `${kind} ${Math.round(k.mb)} MB (${k.processes})`)
            .join(', ')}`,
        ),
      ],
      goals: [
        goal(
          'fresh-clone npm start → ready',
          coldS,
          '<=',
          8,
          's',
          coldS > 8 ? missed(cold, load, FRESH_WHY) : undefined,
        ),
        goal(
          'cached npm start → ready',
          cachedS,
          '<=',
          2,
          's',
          cachedS > 2 ? missed(cached, load, CACHED_WHY) : undefined,
        ),
        goal(
          `local cloud memory (PSS) after a ${burst.toLocaleString('en-US')}-request burst`,
          after.mb / 1024,
          '<=',
          1.5,
          'GB',
          after.mb / 1024 > 1.5
            ? `${after.processes} processes; the Lambda workers (each its own Node) are bounded by the runtime's budget (4 per CPU, --max-workers)`
            : undefined,
        ),
      ],
    };
  },
};
