/**
 * The web console: the JavaScript the first page loads (gzip bytes, as CloudFront serves it) against
 * the smallest app built the same way (Preact rendering one heading, same esbuild options), and the
 * page load in headless Chromium on the shared local cloud — navigation start → the storefront's
 * products on screen (the `shop:products-shown` mark the page sets) — against loading the smallest
 * document of the same server (`/config.json`), each in a new browser context (empty cache).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import esbuild from 'esbuild';
import { CHROMIUM_ARGS, findChromium } from '../../test/support/chromium.ts';
import { buildConsole, CONSOLE_BUILD_OPTIONS } from '../../web/build.ts';
import { call, type RunningCloud } from '../lib/cloud.ts';
import { type BenchContext, type BenchRow, goal, type Measurement, measure, median } from '../lib/row.ts';

const gzip = (bytes: Uint8Array) => gzipSync(bytes, { level: 9 }).length;

/** gzip bytes of the first page's JavaScript, ours and the minimal Preact app's. */
async function bundleSizes(ctx: BenchContext) {
  const build = await buildConsole();
  const entryGzip = build.entryFiles.reduce((n, f) => n + gzip(build.files.get(f) as Uint8Array), 0);
  const allGzip = [...build.files]
    .filter(([name]) => name.endsWith('.js'))
    .reduce((n, [, bytes]) => n + gzip(bytes), 0);
  const dir = path.join(ctx.scratch, 'console-baseline');
  mkdirSync(dir, { recursive: true });
  const entry = path.join(dir, 'main.tsx');
  writeFileSync(entry, "import { render } from 'preact';\nrender(<h1>Shop</h1>, document.body);\n");
  const baseline = await esbuild.build({ ...CONSOLE_BUILD_OPTIONS, entryPoints: { main: entry } });
  const baselineGzip = baseline.outputFiles
    .filter((f) => f.path.endsWith('.js'))
    .reduce((n, f) => n + gzip(f.contents), 0);
  return { entryGzip, allGzip, baselineGzip, files: build.entryFiles.length };
}

/** Milliseconds to the storefront's products on screen, and to the server's smallest document. */
async function pageLoads(cloud: RunningCloud, consoleUrl: string, runs: number) {
  const { chromium } = await import('playwright-core');
  const executablePath = findChromium();
  if (!executablePath) return undefined;
  const admin = await cloud.token('bench-admin', true);
  const category = `bench${process.pid}`;
  for (const name of ['Bench cup', 'Bench jug'])
    await call(cloud.url, 'POST', '/products', {
      token: admin,
      body: { name, category, priceCents: 700, currency: 'EUR' },
      retries: 3,
    });
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const load = async (url: string, until: 'products' | 'document') => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(60_000);
        await page.goto(url, { waitUntil: 'load' });
        if (until === 'document')
          return await page.evaluate(
            () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd,
          );
        await page.waitForFunction(() => performance.getEntriesByName('shop:products-shown').length > 0);
        return await page.evaluate(
          () => performance.getEntriesByName('shop:products-shown')[0]?.startTime ?? Number.NaN,
        );
      } finally {
        await context.close();
      }
    };
    const store = `${consoleUrl}/#/products?category=${category}`;
    // The first load also starts the catalog function's worker (a Lambda cold start): reported apart.
    const first = await load(store, 'products');
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push(await load(store, 'products'));
      base.push(await load(`${consoleUrl}/config.json`, 'document'));
    }
    return { first, ours: median(ours), base: median(base), runs };
  } finally {
    await browser.close();
  }
}

export const row: BenchRow = {
  name: 'console',
  title: 'Web console: first-page JavaScript (gzip) and page load in headless Chromium',
  order: 35,
  sharedCloud: true,
  async run(ctx) {
    const sizes = await bundleSizes(ctx);
    const measurements: Measurement[] = [
      measure(
        'JS loaded by the first page (gzip)',
        sizes.entryGzip / 1024,
        'KB',
        'minimal Preact app, same build',
        sizes.baselineGzip / 1024,
        `${sizes.files} files; all chunks incl. the lazily loaded charts: ${(sizes.allGzip / 1024).toFixed(1)} KB gzip`,
      ),
    ];
    const cloud = await ctx.cloud();
    const consoleUrl = / · console (http:\/\/\S+)/.exec(cloud.readyLine)?.[1];
    if (!consoleUrl) throw new Error(`no console URL on the ready line: ${cloud.readyLine}`);
    const loads = await pageLoads(cloud, consoleUrl, ctx.quick ? 3 : 7);
    if (!loads)
      return {
        measurements,
        notes: ['page load not measured: no Chromium (apt-get install chromium, or set CHROMIUM_PATH)'],
      };
    measurements.push(
      measure(
        `storefront load → products on screen (median of ${loads.runs})`,
        loads.ours,
        'ms',
        'the same server’s /config.json in a new context',
        loads.base,
        `first load, with the catalog function's cold start: ${loads.first.toFixed(0)} ms`,
      ),
    );
    return {
      measurements,
      goals: [
        goal(
          'console page load on the local cloud',
          loads.ours,
          '<=',
          1000,
          'ms',
          loads.ours > 1000
            ? `the smallest document of the same server took ${loads.base.toFixed(0)} ms in this run (machine load); the page waits for GET /products through the gateway and a Lambda worker`
            : undefined,
        ),
      ],
    };
  },
};
