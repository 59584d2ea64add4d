/**
 * Warm latency of the shop's routes through the local gateway (numbers, not a test):
 * GET /products/{id}, PUT /cart/items/{id} and POST /orders, N sequential requests each after a
 * warm-up, p50/p95/p99 in milliseconds. Starts its own local cloud in a scratch state directory.
 *
 * Usage: npm run bench:services [-- --requests 300]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureSigningKey } from '../local/cloud/signing-key.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../shared/auth/jwt.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '300' } } });
const requests = Number(values.requests);
const root = path.resolve(import.meta.dirname, '..');
const stateDir = path.join(root, '.local', `bench-services-${process.pid}`);

async function start(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['local/cli/start.ts', '--state-dir', stateDir, '--port', '0', '--quiet'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, DATABASE_URL: undefined },
    },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const ready = /^ready (http:\/\/[\d.:]+\/\w+) /m.exec(output);
      if (ready) resolve({ child, url: ready[1] as string });
    });
    child.on('exit', (code) => reject(new Error(`start exited with ${code}: ${output}`)));
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

const { child, url } = await start();
try {
  const key = await ensureSigningKey(path.join(stateDir, 'keys'));
  const token = (sub: string, admin = false) =>
    signToken(
      key.privateJwk,
      { sub, groups: admin ? ['admin'] : [] },
      { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE },
    );
  const adminToken = await token('bench-admin', true);
  const call = async (
    method: string,
    route: string,
    auth?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: {
        ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        'content-type': 'application/json',
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const product = await call('POST', '/products', adminToken, {
    name: 'Bench mug',
    category: 'bench',
    priceCents: 999,
    currency: 'EUR',
  });
  await call('PUT', `/inventory/${product.productId}`, adminToken, { stock: 1_000_000 });
  const shopper = await token('bench-shopper');

  const measure = async (label: string, once: (i: number) => Promise<number>) => {
    for (let i = 0; i < 20; i++) await once(i); // warm every worker
    const latencies: number[] = [];
    for (let i = 0; i < requests; i++) latencies.push(await once(i));
    latencies.sort((a, b) => a - b);
    console.log(
      `${label.padEnd(26)} n=${requests}  p50 ${percentile(latencies, 50).toFixed(2)} ms  ` +
        `p95 ${percentile(latencies, 95).toFixed(2)} ms  p99 ${percentile(latencies, 99).toFixed(2)} ms`,
    );
  };
  const timed = async (work: () => Promise<unknown>) => {
    const t = performance.now();
    await work();
    return performance.now() - t;
  };

  await measure('GET /products/{id}', () => timed(() => call('GET', `/products/${product.productId}`)));
  await measure('PUT /cart/items/{id}', (i) =>
    timed(() => call('PUT', `/cart/items/${product.productId}`, shopper, { quantity: (i % 5) + 1 })),
  );
  await measure('POST /orders', async (i) => {
    await call('PUT', `/cart/items/${product.productId}`, shopper, { quantity: 1 });
    return timed(() =>
      call('POST', '/orders', shopper, { region: 'eu' }, { 'idempotency-key': `bench-${process.pid}-${i}` }),
    );
  });
} finally {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  rmSync(stateDir, { recursive: true, force: true });
}
