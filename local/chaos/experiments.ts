/**
 * The chaos experiments: load against the local cloud while a fault is injected, then the
 * invariants. Each runs on products and users of its own, so the verdicts are its own.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { type Answer, type ShopClient, untilAnswered } from './client.ts';
import type { CloudProcess } from './cloud-process.ts';
import { type FuzzRequest, fuzzRequests } from './fuzz.ts';
import {
  confirmedOrdersExist,
  eventsSettled,
  type InvariantName,
  memoryReturns,
  oncePerCartState,
  stockConserved,
  type Verdict,
  withinBudget,
} from './invariants.ts';

export interface ChaosOptions {
  /** How long the checkout load runs (the fault starts at a third of it). */
  loadSeconds: number;
  /** Concurrent shoppers. */
  users: number;
  /** How long freeze-* faults last (above 29 s shows the gateway's cap). */
  freezeSeconds: number;
  /** How long hold-lock holds the row. */
  lockSeconds: number;
  /** Requests of the fuzz experiment. */
  fuzzRequests: number;
  /** Concurrent checkouts of one cart in double-checkout. */
  doubleCheckouts: number;
  /** The process tree's RSS must come back under this after the experiment. */
  memoryBoundMB: number;
}

export interface ChaosContext {
  /** The cloud under test; kill-cloud replaces it with its restart. */
  cloud: CloudProcess;
  /** SIGKILL of the whole tree, then a new cloud on the same state directory and port. */
  crashAndRestart(): Promise<void>;
  sign(sub: string, admin?: boolean): Promise<string>;
  options: ChaosOptions;
  log(line: string): void;
}

export interface ExperimentResult {
  name: string;
  verdicts: Partial<Record<InvariantName, Verdict>>;
  requests: number;
  statuses: Record<string, number>;
  seconds: number;
  error?: string;
}

export interface Experiment {
  name: string;
  /** The fault, in one line. */
  fault: string;
  /** What keeps the invariants true. */
  protection: string;
  run(ctx: ChaosContext, client: ShopClient): Promise<Partial<Record<InvariantName, Verdict>>>;
}

/** At most this many of the fuzz's 5xx are sent again. */
const MAX_REPLAYS = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const INITIAL_STOCK = 1_000_000;

/** A product with stock, created through the API as an administrator. */
async function stockedProduct(ctx: ChaosContext, client: ShopClient, stock = INITIAL_STOCK): Promise<string> {
  const admin = await ctx.sign('chaos-admin', true);
  const created = await untilAnswered(() =>
    client.call<{ productId: string }>('POST', '/products', {
      route: 'POST /products',
      token: admin,
      body: {
        name: `chaos ${randomUUID().slice(0, 8)}`,
        category: 'chaos',
        priceCents: 100,
        currency: 'EUR',
      },
    }),
  );
  if (created.status !== 201) throw new Error(`setup: POST /products → ${created.status} ${created.text}`);
  const productId = created.body.productId;
  const stocked = await untilAnswered(() =>
    client.call('PUT', `/inventory/${productId}`, {
      route: 'PUT /inventory/{id}',
      token: admin,
      body: { stock },
    }),
  );
  if (stocked.status !== 200) throw new Error(`setup: PUT /inventory → ${stocked.status} ${stocked.text}`);
  return productId;
}

interface LoadResult {
  placed: string[];
  cartStates: Map<string, number>;
}

/**
 * Shoppers that each fill their cart and check out, over and over, until `stopAt`: every intent is
 * retried with its own Idempotency-Key until it gets a definitive answer. Between checkouts each
 * reads its order history (other users' reads must not wait on a checkout's locks).
 */
async function checkoutLoad(
  ctx: ChaosContext,
  client: ShopClient,
  productId: string,
  window: { stopAt: number; abandoned: boolean },
  prefix: string,
): Promise<LoadResult> {
  const abandoned = () => window.abandoned;
  const placed: string[] = [];
  const cartStates = new Map<string, number>();
  const shopper = async (user: string) => {
    const token = await ctx.sign(user);
    cartStates.set(user, 0);
    for (let round = 1; Date.now() < window.stopAt && !window.abandoned; round++) {
      const filled = await untilAnswered(
        () =>
          client.call('PUT', `/cart/items/${productId}`, {
            route: 'PUT /cart/items/{id}',
            token,
            body: { quantity: 1 + (round % 3) },
          }),
        undefined,
        abandoned,
      );
      if (filled.status !== 200) continue;
      cartStates.set(user, (cartStates.get(user) ?? 0) + 1);
      const key = `${user}-${round}`;
      const order: Answer<{ orderId: string }> = await untilAnswered(
        () =>
          client.call<{ orderId: string }>('POST', '/orders', {
            route: 'POST /orders',
            token,
            body: { region: 'eu' },
            headers: { 'Idempotency-Key': key },
          }),
        undefined,
        abandoned,
      );
      if (order.status === 201) placed.push(order.body.orderId);
      await client.call('GET', '/orders?limit=5', { route: 'GET /orders', token });
    }
  };
  await Promise.all(Array.from({ length: ctx.options.users }, (_, i) => shopper(`${prefix}-${i}`)));
  return { placed, cartStates };
}

/** Waits until the API answers /health with 200 again (after a fault was healed). */
async function healthy(client: ShopClient, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await client.call('GET', '/health', { route: 'GET /health' });
    if (answer.status === 200) return;
    await sleep(500);
  }
  throw new Error('the API did not answer /health with 200 within 90 s after the fault');
}

/** The catalog's view of a product's stock, read strongly. */
const catalogAvailable = (client: ShopClient, productId: string) => async () => {
  const answer = await client.call<{ available?: number }>('GET', `/products/${productId}?consistent=true`, {
    route: 'GET /products/{id}',
  });
  return answer.status === 200 ? answer.body.available : undefined;
};

/** Load while `inject` runs at a third of it; then heal, settle and check every invariant. */
function underLoad(
  name: string,
  fault: string,
  protection: string,
  inject: (ctx: ChaosContext, productId: string) => Promise<void>,
): Experiment {
  return {
    name,
    fault,
    protection,
    async run(ctx, client) {
      const productId = await stockedProduct(ctx, client);
      const loadMs = ctx.options.loadSeconds * 1000;
      const window = { stopAt: Date.now() + loadMs, abandoned: false };
      const load = checkoutLoad(ctx, client, productId, window, `chaos-${name}-${randomUUID().slice(0, 6)}`);
      await sleep(loadMs / 3);
      ctx.log(`${name}: injecting the fault`);
      try {
        await inject(ctx, productId);
      } catch (error) {
        // The load stops with the experiment, so it does not run on into the next one.
        window.abandoned = true;
        await load;
        throw error;
      }
      const { placed, cartStates } = await load;
      await ctx.cloud.control('/faults', { method: 'DELETE' }).catch(() => {});
      await healthy(client);
      ctx.log(`${name}: ${placed.length} orders placed; checking invariants`);
      return {
        confirmed: await confirmedOrdersExist(ctx.cloud, placed),
        stock: await stockConserved(ctx.cloud, productId, INITIAL_STOCK),
        oncePerCart: await oncePerCartState(ctx.cloud, cartStates),
        events: await eventsSettled(ctx.cloud, { productId, available: catalogAvailable(client, productId) }),
        budget: withinBudget(client.samples),
        memory: await memoryReturns(ctx.cloud, ctx.options.memoryBoundMB),
      };
    },
  };
}

const inject =
  (kind: string, params: Record<string, unknown> = {}) =>
  (ctx: ChaosContext) =>
    ctx.cloud
      .control('/faults', { method: 'POST', body: JSON.stringify({ kind, ...params }) })
      .then(() => {});

export const EXPERIMENTS: Experiment[] = [
  underLoad(
    'kill-postgres',
    'SIGKILL of Postgres (postmaster and backends) mid-checkout, restarted 2 s later',
    'durable commits (fsync, synchronous_commit on); the pool drops dead connections instead of crashing the worker (app side); the checkout is one transaction; clients retry with the same Idempotency-Key; the outbox relay re-sends what was not published',
    inject('kill-postgres', { downSeconds: 2 }),
  ),
  underLoad(
    'kill-cloud',
    'SIGKILL of the whole local cloud process tree (cloud, workers, emulators) mid-checkout, then npm start on the same state',
    'durable Postgres and DynamoDB Local files; accepted events journalled by the local EventBridge and redelivered after the restart; the outbox; at start, what the dead Postgres left is cleared (a `postmaster.pid` naming a zombie or a reused pid, leftover backends)',
    async (ctx) => {
      await ctx.crashAndRestart();
    },
  ),
  underLoad(
    'kill-worker',
    'SIGKILL of every worker of the orders function, three times, 2 s apart',
    'a checkout commits or not as a whole; the client retries with the same Idempotency-Key and gets the committed order',
    async (ctx) => {
      for (let i = 0; i < 3; i++) {
        await inject('kill-worker', { function: 'OrdersApi', all: true })(ctx);
        await sleep(2_000);
      }
    },
  ),
  underLoad(
    'freeze-dynamodb',
    'SIGSTOP of DynamoDB Local for the freeze time, then SIGCONT',
    'the gateway answers 504 at 29 s; SDK timeouts answer 503 sooner (app side); retries with the same key',
    (ctx) => inject('freeze-dynamodb', { seconds: ctx.options.freezeSeconds })(ctx),
  ),
  underLoad(
    'freeze-postgres',
    'SIGSTOP of Postgres (all its processes) for the freeze time, then SIGCONT',
    'the gateway answers 504 at 29 s; statement/connect timeouts answer 503 sooner (app side)',
    (ctx) => inject('freeze-postgres', { seconds: ctx.options.freezeSeconds })(ctx),
  ),
  underLoad(
    'hold-lock',
    "a transaction holds the product's inventory row lock (SELECT … FOR UPDATE) for the lock time",
    'lock_timeout/statement_timeout (app side) and the gateway’s 29 s; other users’ reads take no lock',
    (ctx, productId) => inject('hold-lock', { productId, seconds: ctx.options.lockSeconds })(ctx),
  ),
  {
    name: 'double-checkout',
    fault: 'concurrent POST /orders of one cart holding one unit, each with its own Idempotency-Key',
    protection: 'the checkout consumes the cart it prices inside its Postgres transaction (app side)',
    async run(ctx, client) {
      const productId = await stockedProduct(ctx, client);
      const user = `chaos-double-${randomUUID().slice(0, 8)}`;
      const token = await ctx.sign(user);
      const filled = await untilAnswered(() =>
        client.call('PUT', `/cart/items/${productId}`, {
          route: 'PUT /cart/items/{id}',
          token,
          body: { quantity: 1 },
        }),
      );
      if (filled.status !== 200) throw new Error(`setup: PUT /cart/items → ${filled.status}`);
      const answers = await Promise.all(
        Array.from({ length: ctx.options.doubleCheckouts }, (_, i) =>
          untilAnswered(() =>
            client.call<{ orderId: string }>('POST', '/orders', {
              route: 'POST /orders',
              token,
              body: { region: 'eu' },
              headers: { 'Idempotency-Key': `${user}-${i}` },
            }),
          ),
        ),
      );
      const placed = answers.filter((a) => a.status === 201).map((a) => a.body.orderId);
      ctx.log(`double-checkout: ${new Set(placed).size} distinct orders from ${answers.length} checkouts`);
      return {
        confirmed: await confirmedOrdersExist(ctx.cloud, placed),
        stock: await stockConserved(ctx.cloud, productId, INITIAL_STOCK),
        oncePerCart: await oncePerCartState(ctx.cloud, new Map([[user, 1]])),
        events: await eventsSettled(ctx.cloud, { productId, available: catalogAvailable(client, productId) }),
        budget: withinBudget(client.samples),
        memory: await memoryReturns(ctx.cloud, ctx.options.memoryBoundMB),
      };
    },
  },
  {
    name: 'fuzz',
    fault:
      'bad requests over every route: malformed bodies, wrong types, junk path parameters and cursors, odd headers and tokens',
    protection: 'zod schemas at every entry, validated cursors and key sizes, 4xx with the field named',
    async run(ctx, client) {
      const routes = (await ctx.cloud.control<{ method: string; path: string }[]>('/routes')).map(
        (r) => `${r.method} ${r.path}`,
      );
      if (routes.length === 0) throw new Error('the control API lists no routes');
      const next = fuzzRequests(routes, 9);
      const tokens = {
        admin: await ctx.sign('chaos-fuzz-admin', true),
        user: await ctx.sign('chaos-fuzz-user'),
        none: undefined,
        garbage: 'e30.e30.garbage',
      };
      let sent = 0;
      const failed: { request: FuzzRequest; status: number; text: string }[] = [];
      const send = (request: FuzzRequest, badInput: boolean) =>
        client.call(request.method, request.url, {
          route: request.route,
          token: tokens[request.auth],
          rawBody: request.rawBody,
          headers: request.headers,
          badInput,
        });
      const worker = async () => {
        while (sent < ctx.options.fuzzRequests) {
          sent++;
          const request = next();
          const answer = await send(request, true);
          if (answer.status >= 500 || answer.status === 0)
            failed.push({ request, status: answer.status, text: answer.text.slice(0, 200) });
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      // Every 5xx is sent again, alone: one caused by the input comes back; one caused by the machine
      // (a worker init starved past Lambda's 10 s → 502, the gateway's 29 s → 504) does not. Both
      // are counted and shown; only the first fails the invariant.
      const byStatus = new Map<string, number>();
      for (const f of failed) {
        const key =
          f.status === 0
            ? 'no answer'
            : `${f.status} ${/"(?:error|message)":"([^"]{0,60})/.exec(f.text)?.[1] ?? ''}`.trim();
        byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
      }
      // Sent one at a time, so a long list on a starved machine is capped (the rest is shown as unchecked).
      const replayed = failed.slice(0, MAX_REPLAYS);
      let reproduced = 0;
      for (const { request } of replayed) {
        const again = await send(request, false);
        if (again.status >= 500 || again.status === 0) {
          reproduced++;
          ctx.log(
            `fuzz: reproducible ${again.status}: ${request.method} ${request.url.slice(0, 200)} body=${String(request.rawBody).slice(0, 100)}`,
          );
        }
      }
      ctx.log(
        `fuzz: ${sent} requests over ${routes.length} routes; ${failed.length} × 5xx under load, ${reproduced} reproducible`,
      );
      const bad = client.samples.filter((s) => s.badInput);
      const overload = [...byStatus].map(([k, n]) => `${n} × ${k}`).join(', ');
      return {
        input5xx: {
          held: reproduced === 0 && replayed.length === failed.length,
          detail:
            `${reproduced} × 5xx from input in ${bad.length} bad requests` +
            (failed.length === 0
              ? ' (no 5xx at all)'
              : `; ${replayed.length - reproduced} × 5xx from load, each answered without a 5xx when sent again alone (${overload})` +
                (replayed.length < failed.length ? `; ${failed.length - replayed.length} not replayed` : '')),
        },
        budget: withinBudget(client.samples),
        memory: await memoryReturns(ctx.cloud, ctx.options.memoryBoundMB),
      };
    },
  },
];
