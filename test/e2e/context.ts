import { type ApiRequest, type ApiResponse, callApi } from '../support/http.ts';

/**
 * What the end-to-end suite runs against, handed over by `scripts/e2e.ts` (`npm run test:e2e`) in
 * the `SHOP_E2E` variable: the API's base URL, a bearer token per test user, and what the target has.
 * The suite is written once and knows nothing else about the target.
 */
export interface E2eContext {
  /** e.g. `http://127.0.0.1:3000`, `https://abc.execute-api.eu-west-1.amazonaws.com/v1` (no trailing slash). */
  url: string;
  /** `local`, `localstack`, `aws` or `url` (only a URL was given). */
  target: string;
  /** Unique to the run: prefixes the test data (categories, idempotency keys). */
  runId: string;
  /** Bearer tokens: `admin` is in the admin group; `alice` and `bob` are plain users. */
  tokens: { admin: string; alice: string; bob: string };
  /** Whether the target has the ETL stack (`POST /etl/runs`), and why not when it has not. */
  etl: { enabled: boolean; reason?: string };
  /**
   * How long effects may take to show (events reaching projections, queued experiments, ETL runs):
   * seconds locally, longer on a real cloud. Polls end at this deadline; nothing sleeps a fixed time.
   */
  timeoutMs: number;
}

export function e2eContext(env: NodeJS.ProcessEnv = process.env): E2eContext {
  const raw = env.SHOP_E2E;
  if (!raw) {
    throw new Error(
      'SHOP_E2E is not set: run the end-to-end suite through `npm run test:e2e -- --url <api> | --target localstack|aws`',
    );
  }
  return JSON.parse(raw) as E2eContext;
}

export const context = e2eContext();

/** Poll options for effects that take time: up to the target's deadline, backing off to 2 s. */
export const poll = { timeoutMs: context.timeoutMs, intervalMs: 100, maxIntervalMs: 2000 };

/** Gateway answers that mean the function did not answer in time (e.g. a cold start under load). */
const GATEWAY_ERRORS = new Set([502, 503, 504]);

/**
 * Calls the API under test: `as` names the user whose token goes in `Authorization`. A request that
 * is safe to repeat (GET, PUT, DELETE, or any with an `Idempotency-Key`) is retried on 502/503/504,
 * backing off, until the target's deadline: what a careful client of a real cloud does.
 */
export async function api<T = Record<string, unknown>>(
  route: string,
  options: ApiRequest & { as?: keyof E2eContext['tokens'] } = {},
): Promise<ApiResponse<T>> {
  const request = {
    ...options,
    token: options.token ?? (options.as ? context.tokens[options.as] : undefined),
  };
  const method = (options.method ?? 'GET').toUpperCase();
  const repeatable =
    ['GET', 'PUT', 'DELETE'].includes(method) ||
    Object.keys(options.headers ?? {}).some((name) => name.toLowerCase() === 'idempotency-key');
  const deadline = Date.now() + context.timeoutMs;
  let wait = 200;
  for (;;) {
    const response = await callApi<T>(context.url, route, request);
    if (!repeatable || !GATEWAY_ERRORS.has(response.status) || Date.now() + wait > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 5000);
  }
}

/** `api` that fails the test unless the status is the expected one, naming the route and the body. */
export async function expectStatus<T = Record<string, unknown>>(
  status: number,
  route: string,
  options: Parameters<typeof api>[1] = {},
): Promise<T> {
  const response = await api<T>(route, options);
  if (response.status !== status) {
    throw new Error(
      `${options.method ?? 'GET'} ${route}: expected ${status}, got ${response.status} ${response.text}`,
    );
  }
  return response.body;
}

export interface Product {
  productId: string;
  name: string;
  category: string;
  priceCents: number;
  available: number;
  version: number;
}

/** Creates a product (as admin) in a category of this run and gives it stock. */
export async function stockedProduct(stock: number, priceCents = 1250): Promise<Product> {
  const product = await expectStatus<Product>(201, '/products', {
    method: 'POST',
    as: 'admin',
    headers: { 'idempotency-key': crypto.randomUUID() },
    body: { name: `e2e ${context.runId}`, category: `e2e-${context.runId}`, priceCents, currency: 'EUR' },
  });
  await expectStatus(200, `/inventory/${product.productId}`, { method: 'PUT', as: 'admin', body: { stock } });
  return product;
}
