/// <reference lib="dom" />

import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROUTES } from '../../shared/api/routes.ts';
import type { ExperimentReport } from '../../shared/lab/domain/report.ts';
import { CHROMIUM_ARGS, findChromium } from '../support/chromium.ts';
import { api, createProduct, eventually, tokenFor, uniqueId } from './helpers.ts';

/**
 * The web console in a real browser (headless Chromium driven by playwright-core) against the
 * local cloud of the integration suite: the user journeys of issue 15, with a screenshot of each
 * page in `test-results/web-console/`.
 */
const SHOTS = path.resolve(import.meta.dirname, '../../test-results/web-console');

const executablePath = findChromium();
/** The fault scenarios need the local cloud's replicas (a standby, a second region). */
const replicated = inject('replication').model !== 'off';
/** Deadlines for what the page shows after a request (the machine may be busy). */
const POLL = { timeout: 20_000, interval: 100 };
if (!executablePath)
  console.warn(
    'SKIPPED web console browser tests: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)',
  );

describe.skipIf(!executablePath)('web console in headless Chromium', () => {
  let browser: Browser;
  let consoleUrl: string;
  let category: string;
  let product: { productId: string; priceCents: number };
  const measured: Record<string, unknown> = {};

  beforeAll(async () => {
    consoleUrl = inject('consoleUrl');
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    category = uniqueId('web').toLowerCase();
    const admin = await tokenFor('web-admin', { admin: true });
    product = await createProduct({ name: 'Espresso cup', category, priceCents: 1299 });
    await createProduct({ name: 'Milk jug', category, priceCents: 2450 });
    const stock = await api(`/inventory/${product.productId}`, {
      method: 'PUT',
      token: admin,
      body: { stock: 25 },
    });
    expect(stock.status).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
    writeFileSync(path.join(SHOTS, 'measurements.json'), JSON.stringify(measured, null, 2));
  });

  async function open(context: BrowserContext, hash: string): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${consoleUrl}/${hash}`);
    return page;
  }

  async function signIn(page: Page, userId: string, admin = false) {
    await page.getByText('Sign in', { exact: true }).click();
    await page.getByLabel('User id').fill(userId);
    if (admin) await page.getByLabel('In the admin group').check();
    await page.getByRole('button', { name: 'Get a token' }).click();
    await expect.poll(() => page.getByTestId('signed-in').textContent(), POLL).toContain(userId);
  }

  /** The JavaScript a page has loaded so far: bytes as served, and gzipped (as CloudFront serves them). */
  async function scripts(page: Page) {
    const urls = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((e) => e.name)
        .filter((n) => n.endsWith('.js')),
    );
    let bytes = 0;
    let gzipBytes = 0;
    for (const url of urls) {
      const body = Buffer.from(await (await fetch(url)).arrayBuffer());
      bytes += body.length;
      gzipBytes += gzipSync(body).length;
    }
    return { files: urls.length, bytes, gzipBytes };
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  it('browse → product (eventual / strong) → cart → checkout (a double click places one order) → order listed', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await open(context, `#/products?category=${category}`);
    await page.getByRole('link', { name: 'Espresso cup' }).waitFor();
    // Page load: navigation start → products on screen (what the visitor waits for), marked by the page.
    measured.storefrontLoadMs = await page.evaluate(() =>
      Math.round(performance.getEntriesByName('shop:products-shown')[0]?.startTime ?? Number.NaN),
    );
    measured.navigation = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return {
        domContentLoadedMs: Math.round(n.domContentLoadedEventEnd),
        loadMs: Math.round(n.loadEventEnd),
      };
    });
    await expect.poll(() => page.getByTestId('products').locator('li').count(), POLL).toBe(2);
    measured.storefrontJs = await scripts(page);
    await shot(page, 'storefront');

    const shopper = uniqueId('shopper');
    await signIn(page, shopper);
    await page.getByRole('link', { name: 'Espresso cup' }).click();
    await expect.poll(() => page.getByTestId('read-consistency').textContent(), POLL).toContain('eventual');
    await page.getByLabel(/strong/).check();
    await expect.poll(() => page.getByTestId('read-consistency').textContent(), POLL).toContain('strong');
    await expect.poll(() => page.getByTestId('available').textContent(), POLL).toBe('25');
    await page.getByLabel('Quantity').fill('2');
    await page.getByRole('button', { name: 'Put in cart' }).click();
    await page.getByText('In your cart: 2').waitFor();
    await shot(page, 'product');

    await page.getByRole('link', { name: 'Cart', exact: true }).click();
    await page.getByRole('cell', { name: 'Espresso cup', exact: true }).waitFor();
    // Two clicks before the page can re-render: both requests carry the cart version's Idempotency-Key.
    await page.evaluate(() => {
      const button = document.querySelector<HTMLButtonElement>('[data-testid="checkout"]');
      button?.click();
      button?.click();
    });
    await page.getByTestId('placed').waitFor();
    expect(await page.getByTestId('placed').textContent()).toContain(
      '2 requests carried the same Idempotency-Key',
    );
    await shot(page, 'cart-checkout');

    const token = await tokenFor(shopper);
    const orders = await api<{ items: { orderId: string; totalCents: number }[] }>('/orders', { token });
    expect(orders.body.items).toHaveLength(1);
    expect(orders.body.items[0]?.totalCents).toBe(2 * 1299);
    await page.getByRole('link', { name: 'Orders' }).click();
    await expect.poll(() => page.getByTestId('orders').locator('tr').count(), POLL).toBe(1);
    expect(await page.getByTestId('orders').textContent()).toContain('PLACED');
    await page.getByRole('button', { name: /Cancel/ }).click();
    await expect.poll(() => page.getByTestId('orders').textContent(), POLL).toContain('CANCELLED');
    await shot(page, 'orders');
    await context.close();
  });

  it('two tabs editing one cart: the stale tab gets the 412, says so, and can apply its change on top', async () => {
    const shopper = uniqueId('two-tabs');
    const token = await tokenFor(shopper);
    expect(
      (await api(`/cart/items/${product.productId}`, { method: 'PUT', token, body: { quantity: 1 } })).status,
    ).toBe(200);
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const first = await open(context, '#/products');
    await signIn(first, shopper);
    await first.goto(`${consoleUrl}/#/cart`);
    // The second tab shares the sign-in (localStorage) and loads the same cart version.
    const second = await open(context, '#/cart');
    const quantity = (page: Page) => page.getByLabel('Quantity of Espresso cup');
    await quantity(first).waitFor();
    await quantity(second).waitFor();

    await quantity(first).fill('3');
    await quantity(first).press('Tab');
    await expect.poll(() => first.getByTestId('cart-version').textContent(), POLL).toContain('version 2');

    await quantity(second).fill('4');
    await quantity(second).press('Tab');
    const conflict = second.getByTestId('conflict');
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain('412');
    expect(await conflict.textContent()).toContain('edited version 1');
    // Nothing was overwritten: the cart still holds the first tab's 3.
    const cart = await api<{ items: { quantity: number }[] }>('/cart', { token });
    expect(cart.body.items[0]?.quantity).toBe(3);
    await shot(second, 'cart-conflict');

    await second.getByRole('button', { name: 'Apply my change to the current cart' }).click();
    await conflict.waitFor({ state: 'detached' });
    const after = await api<{ items: { quantity: number }[]; version: number }>('/cart', { token });
    expect(after.body.items[0]?.quantity).toBe(4);
    expect(after.body.version).toBe(3);
    await context.close();
  });

  it('runs a lab experiment and draws one bar per strategy (and three latency bars each)', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await open(context, '#/lab');
    await signIn(page, uniqueId('lab-user'));
    await page.locator('select[name="scenario"]').selectOption('lost-update');
    // The form refuses what the API would, before sending anything.
    await page.locator('input[name="concurrency"]').fill('100');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByText('body.concurrency: must be at most 64').waitFor();

    await page.locator('input[name="concurrency"]').fill('4');
    await page.locator('input[name="thinkTimeMs"]').fill('1');
    await page.getByRole('button', { name: 'Run' }).click();
    const report = page.locator('[data-testid="report"][data-status="done"]');
    try {
      await report.waitFor({ timeout: 90_000 });
    } catch (error) {
      await shot(page, 'lab-failed');
      throw error;
    }
    const id = await page.evaluate(() => new URLSearchParams(location.hash.split('?')[1]).get('run'));
    const token = await tokenFor('lab-reader');
    const stored = await api<{ results: unknown[] }>(`/consistency/experiments/${id}`, { token });
    const rows = stored.body.results.length;
    expect(rows).toBe(8); // 4 DynamoDB + 4 Postgres strategies

    const bars = (chart: string) =>
      report.locator(`figure[data-chart="${chart}"] svg g[aria-label="bar"] rect`);
    await expect.poll(() => bars('anomalies').count(), POLL).toBe(rows);
    await expect.poll(() => bars('latencyMs').count(), POLL).toBe(rows * 3);
    // Every chart's numbers are one click away.
    await report.locator('figure[data-chart="anomalies"]').getByRole('button', { name: 'Numbers' }).click();
    expect(await report.locator('figure[data-chart="anomalies"] table tbody tr').count()).toBe(rows);
    // The charting library comes with the lab page, not with the storefront.
    measured.labJs = await scripts(page);
    await shot(page, 'lab');
    await context.close();
  });

  /** Starts a run of `scenario` from the lab's form and waits until the page shows it done. */
  async function runInLab(scenario: string, fields: Record<string, string>) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await open(context, '#/lab');
    await signIn(page, uniqueId(`lab-${scenario}`));
    await page.locator('select[name="scenario"]').selectOption(scenario);
    for (const [name, value] of Object.entries(fields))
      await page.locator(`input[name="${name}"]`).fill(value);
    await page.getByRole('button', { name: 'Run' }).click();
    const report = page.locator(`[data-testid="report"][data-status="done"][data-scenario="${scenario}"]`);
    try {
      await report.waitFor({ timeout: 240_000 });
    } catch (error) {
      await shot(page, `lab-${scenario}-failed`);
      throw error;
    }
    const id = await page.evaluate(() => new URLSearchParams(location.hash.split('?')[1]).get('run'));
    const stored = await api<ExperimentReport>(`/consistency/experiments/${id}`, {
      token: await tokenFor('lab-reader'),
    });
    expect(stored.body.status).toBe('done');
    return { context, page, report, results: stored.body.results ?? [] };
  }

  const marks = (report: Locator, chart: string, mark: 'bar' | 'dot') =>
    report.locator(
      `figure[data-chart="${chart}"] svg g[aria-label="${mark}"] ${mark === 'bar' ? 'rect' : 'circle'}`,
    );

  it.runIf(replicated)(
    'runs a failover and draws RPO and RTO per mode and the write timeline with its fault, point by point',
    async () => {
      const { context, page, report, results } = await runInLab('failover', {
        trials: '1',
        concurrency: '2',
      });
      const runs = results.flatMap((r) => r.failover ?? []);
      // One failover per replication mode (asynchronous, synchronous).
      expect(runs).toHaveLength(results.length);
      expect(results.length).toBeGreaterThan(0);
      await expect.poll(() => marks(report, 'rpo', 'bar').count(), POLL).toBe(runs.length);
      await expect.poll(() => marks(report, 'rto', 'bar').count(), POLL).toBe(runs.length);
      // The timeline: commits and failed commits for every 100 ms bucket the API reported.
      const buckets = runs.reduce((n, r) => n + r.timeline.length, 0);
      await expect.poll(() => marks(report, 'timeline', 'dot').count(), POLL).toBe(2 * buckets);
      const timeline = report.locator('figure[data-chart="timeline"]');
      // The moment each fault started is marked on the chart and said in words.
      expect(await timeline.textContent()).toContain(
        `fault (${results[0]?.strategy}) at ${runs[0]?.faultAtMs} ms`,
      );
      // Its numbers one keypress away: the button is reachable and works from the keyboard.
      const numbers = timeline.getByRole('button', { name: 'Numbers' });
      await numbers.focus();
      await page.keyboard.press('Enter');
      expect(await numbers.getAttribute('aria-expanded')).toBe('true');
      expect(await timeline.locator('table tbody tr').count()).toBe(2 * buckets);
      await report.locator('figure[data-chart="rto"]').getByRole('button', { name: 'Numbers' }).click();
      const rto = report.locator('figure[data-chart="rto"] table tbody tr');
      expect(await rto.first().textContent()).toContain(`${runs[0]?.rtoMs} ms`);
      await shot(page, 'lab-failover');
      await context.close();
    },
    // A failover per replication mode: each kills the primary, promotes the standby and builds a new one.
    300_000,
  );

  it.runIf(replicated)(
    'runs a partition and draws availability per region for each store',
    async () => {
      const { context, page, report, results } = await runInLab('partition', {
        seconds: '1',
        concurrency: '1',
      });
      const regions = results.flatMap((r) => r.availability ?? []);
      expect(new Set(regions.map((r) => r.region))).toEqual(new Set(['eu', 'us']));
      await expect.poll(() => marks(report, 'availability', 'bar').count(), POLL).toBe(regions.length);
      const figure = report.locator('figure[data-chart="availability"]');
      await figure.getByRole('button', { name: 'Numbers' }).click();
      const table = await figure
        .locator('table tbody tr')
        .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
      // Each row: store · strategy, region, the share the API reported.
      expect(table).toEqual(
        results.flatMap((r) =>
          (r.availability ?? []).map((a) => [
            `${r.store} · ${r.strategy}`,
            a.region,
            `${(a.availability * 100).toFixed(1)}%`,
          ]),
        ),
      );
      await shot(page, 'lab-partition');
      await context.close();
    },
    300_000,
  );

  it('starts an ETL run as an admin and shows it with its stages', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await open(context, '#/lake');
    await signIn(page, 'web-admin', true);
    // Today: the first journey placed an order today, so the day has data to carry into the lake.
    await page.locator('input[name="date"]').fill(new Date().toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Start a run' }).click();
    const runId = (await page.getByTestId('started-run').getAttribute('title', { timeout: 20_000 })) ?? '';
    expect(runId).toMatch(/^etl-/);
    const row = page.locator(`tr[data-run="${runId}"]`);
    await eventually(
      async () => {
        const text = await row.textContent({ timeout: 1000 });
        if (!/SUCCEEDED|FAILED/.test(text ?? '')) throw new Error(`run not finished: ${text}`);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const admin = await tokenFor('web-admin', { admin: true });
    const stored = await api<{ status: string; stages: Record<string, unknown> }>(`/etl/runs/${runId}`, {
      token: admin,
    });
    // The page shows what the API reports, stage by stage.
    expect(await row.textContent()).toContain(stored.body.status);
    expect(stored.body.status).toBe('SUCCEEDED');
    await page.locator('figure[data-chart="stage-durations"] g[aria-label="bar"]').first().waitFor();
    expect(
      await page.locator('figure[data-chart="stage-durations"] svg g[aria-label="bar"] rect').count(),
    ).toBeGreaterThanOrEqual(3);
    await shot(page, 'lake');
    await context.close();
  });

  it('shows the local cloud and the API reference placeholder, and fits a phone screen', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const page = await open(context, `#/products?category=${category}`);
    await page.getByRole('link', { name: 'Espresso cup' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);
    await shot(page, 'storefront-phone');
    await page.goto(`${consoleUrl}/#/local`);
    await expect
      .poll(() => page.locator('section[aria-label="Functions"] tbody tr').count(), POLL)
      .toBeGreaterThan(5);
    await shot(page, 'local-cloud');
    await page.goto(`${consoleUrl}/#/api`);
    // The reference is the API's own GET /openapi.json, one row per manifest route.
    await page.getByRole('cell', { name: '/openapi.json', exact: true }).waitFor();
    expect(await page.locator('section[aria-label="Routes"] tbody tr').count()).toBe(ROUTES.length);
    // One operation: what it asks for and what it answers, as the served document says.
    const served = await api<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>('/openapi.json');
    await page.locator('a[href="#/api/placeOrder"]').click();
    await page.getByRole('heading', { name: 'POST /orders' }).waitFor();
    await page.getByRole('cell', { name: 'Idempotency-Key', exact: true }).waitFor();
    expect(await page.getByTestId('operation-auth').textContent()).toBe('user');
    const body = page.locator('section[aria-label="Request body (application/json)"] tbody tr');
    expect(await body.first().textContent()).toContain('region');
    expect(await page.locator('section[aria-label="Responses"] tbody tr').count()).toBe(
      Object.keys(served.body.paths['/orders']?.post?.responses ?? {}).length,
    );
    await page.getByRole('cell', { name: '201', exact: true }).waitFor();
    await shot(page, 'api-operation');
    await context.close();
  });
});
