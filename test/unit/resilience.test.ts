import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler as consistencyApi } from '../../functions/consistency/api.ts';
import { handler as etlRunsApi } from '../../functions/etl/runs-api.ts';
import { handler as ordersApi } from '../../functions/orders/api.ts';
import {
  API_GATEWAY_TIMEOUT_MS,
  awsTimeouts,
  budgetForTimeout,
  configuredBudgetMs,
  postgresTimeouts,
  requestBudgetMs,
} from '../../shared/budget.ts';
import { productIdFor, productRequestHash } from '../../shared/catalog/domain.ts';
import { encodeCursor, isPostgresTimestamp } from '../../shared/http/cursor.ts';
import { json } from '../../shared/http/response.ts';
import { UUID } from '../../shared/ids.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';
import { cartState } from '../../shared/orders/domain.ts';
import { dependencyFailure, tagDependency } from '../../shared/platform/adapters/dependencies.ts';

/*
 * Resilience rules that need no store: the request budget and what is derived from it, the 503 a
 * dependency failure becomes, the deadline every request has, and input that must be refused with a
 * 4xx before it reaches Postgres or DynamoDB (no database is configured here: a request that got
 * that far would answer 500, not the 400/403 expected).
 */
const context = (remainingMs = 10_000) =>
  ({
    awsRequestId: 'req-1',
    functionName: 'f',
    getRemainingTimeInMillis: () => remainingMs,
  }) as unknown as Context;

function request(
  resource: string,
  options: {
    method?: string;
    query?: Record<string, string>;
    pathParameters?: Record<string, string>;
    body?: unknown;
    admin?: boolean;
  } = {},
): APIGatewayProxyEvent {
  return {
    httpMethod: options.method ?? 'GET',
    resource,
    path: resource,
    pathParameters: options.pathParameters ?? null,
    queryStringParameters: options.query ?? null,
    headers: {},
    body: options.body === undefined ? null : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      authorizer: { sub: 'alice', ...(options.admin ? { 'cognito:groups': 'admin' } : {}) },
    },
  } as unknown as APIGatewayProxyEvent;
}

const body = (response: { body: string }) => JSON.parse(response.body);

describe('the request budget', () => {
  it('defaults to 8 s and is what REQUEST_BUDGET_MS says otherwise', () => {
    expect(configuredBudgetMs({})).toBe(8_000);
    expect(configuredBudgetMs({ REQUEST_BUDGET_MS: '25000' })).toBe(25_000);
    expect(configuredBudgetMs({ REQUEST_BUDGET_MS: 'soon' })).toBe(8_000);
  });

  it('shrinks to the time the function has left, less a margin', () => {
    expect(requestBudgetMs(60_000, {})).toBe(8_000);
    expect(requestBudgetMs(5_000, {})).toBe(4_000);
    expect(requestBudgetMs(1_000, {})).toBe(800);
  });

  it('stays below API Gateway and the function timeout for API functions', () => {
    expect(budgetForTimeout(10_000, { api: true })).toBe(8_000);
    expect(budgetForTimeout(15_000, { api: true })).toBe(13_000);
    expect(budgetForTimeout(29_000, { api: true })).toBeLessThan(API_GATEWAY_TIMEOUT_MS);
    expect(budgetForTimeout(29_000, { api: true })).toBeLessThan(29_000 - 2_000);
    expect(budgetForTimeout(900_000, { api: false })).toBe(810_000);
  });

  it('bounds every dependency: Postgres and AWS calls fit within it', () => {
    const pg = postgresTimeouts(8_000);
    expect(pg).toEqual({
      connectMs: 2_000,
      lockMs: 2_000,
      statementMs: 4_000,
      queryMs: 4_500,
      idleInTransactionMs: 8_000,
    });
    const aws = awsTimeouts(8_000);
    expect(aws.maxAttempts * (aws.connectMs + aws.requestMs)).toBeLessThan(8_000);
    expect(pg.connectMs + pg.queryMs).toBeLessThan(8_000);
  });
});

describe('dependency failures', () => {
  const tagged = (error: object, dependency: string) => tagDependency(error, dependency);

  it.each([
    [
      'a frozen Postgres (client read timeout)',
      tagged(new Error('Query read timeout'), 'postgres'),
      'postgres',
    ],
    [
      'a Postgres that is not there',
      tagged(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'postgres'),
      'postgres',
    ],
    [
      'a lock held past lock_timeout',
      tagged(
        Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' }),
        'postgres',
      ),
      'postgres',
    ],
    [
      'too many clients',
      tagged(Object.assign(new Error('sorry, too many clients already'), { code: '53300' }), 'postgres'),
      'postgres',
    ],
    [
      'an SDK request timeout',
      tagged(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }), 'dynamodb'),
      'dynamodb',
    ],
    [
      'a throttled table',
      tagged(
        Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }),
        'dynamodb',
      ),
      'dynamodb',
    ],
    [
      'a 500 from EventBridge, wrapped by the caller',
      new Error('relay failed', {
        cause: tagged(
          Object.assign(new Error('boom'), { $metadata: { httpStatusCode: 500 } }),
          'eventbridge',
        ),
      }),
      'eventbridge',
    ],
  ])('recognises %s', (_, error, dependency) => {
    expect(dependencyFailure(error)?.dependency).toBe(dependency);
  });

  it('leaves bugs and refusals alone: they are not a dependency being unavailable', () => {
    expect(dependencyFailure(new TypeError('x is undefined'))).toBeUndefined();
    const unique = tagged(Object.assign(new Error('duplicate key'), { code: '23505' }), 'postgres');
    expect(dependencyFailure(unique)).toBeUndefined();
    const condition = tagged(
      Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException', $fault: 'client' }),
      'dynamodb',
    );
    expect(dependencyFailure(condition)).toBeUndefined();
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE naming the dependency, with Retry-After', async () => {
    const handler = httpHandler(async () => {
      throw tagged(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'postgres');
    });
    const response = await handler({} as APIGatewayProxyEvent, context());
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('1');
    expect(body(response)).toMatchObject({ error: 'DEPENDENCY_UNAVAILABLE', dependency: 'postgres' });
  });
});

describe('the request deadline', () => {
  it('answers 503 DEADLINE_EXCEEDED when the handler outlives its budget', async () => {
    const handler = httpHandler(() => new Promise(() => {})); // waits for ever
    const response = await handler({} as APIGatewayProxyEvent, context(500));
    expect(response.statusCode).toBe(503);
    expect(body(response).error).toBe('DEADLINE_EXCEEDED');
  });

  it('lets a handler that answers in time through', async () => {
    const handler = httpHandler(async () => json(200, { ok: true }));
    expect((await handler({} as APIGatewayProxyEvent, context(500))).statusCode).toBe(200);
  });
});

describe('list cursors', () => {
  it.each([
    '2026-11-26T10:00:00.123456+00:00',
    '2026-11-26T10:00:00Z',
    '2024-02-29T23:59:59.999Z',
    '0001-01-01T00:00:00+00:00',
  ])('accepts %s', (value) => {
    expect(isPostgresTimestamp(value)).toBe(true);
  });

  it.each([
    '1',
    '2024-02-30',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '2026-11-26T24:00:00Z',
    '2026-11-26T10:00:00',
    '2026-11-26T10:00:00.1234567Z',
  ])('refuses %s', (value) => {
    expect(isPostgresTimestamp(value)).toBe(false);
  });

  const uuid = '00000000-0000-4000-8000-000000000000';
  const bad = ['1', '2024-02-30', '0000-01-01', '+275760-09-13T00:00:00Z'];

  it.each(bad)('GET /orders with a cursor dated %s → 400 naming query.cursor', async (c) => {
    const response = await ordersApi(
      request('/orders', { query: { cursor: encodeCursor({ c, o: uuid }) } }),
      context(),
    );
    expect(response.statusCode).toBe(400);
    expect(body(response).details).toEqual([{ path: 'query.cursor', message: expect.any(String) }]);
  });

  it.each(bad)('GET /consistency/experiments with a cursor dated %s → 400 naming query.cursor', async (t) => {
    const response = await consistencyApi(
      request('/consistency/experiments', { query: { cursor: encodeCursor({ t, id: uuid }) } }),
      context(29_000),
    );
    expect(response.statusCode).toBe(400);
    expect(body(response).details).toEqual([{ path: 'query.cursor', message: expect.any(String) }]);
  });
});

describe('key sizes and lab limits', () => {
  it('GET /etl/runs/<2,048-character id> → 400 naming path.runId', async () => {
    const response = await etlRunsApi(
      request('/etl/runs/{runId}', { pathParameters: { runId: 'x'.repeat(2048) }, admin: true }),
      context(),
    );
    expect(response.statusCode).toBe(400);
    expect(body(response).details.map((d: { path: string }) => d.path)).toEqual(['path.runId']);
  });

  it('reserves lab concurrency above 16 for admins: 403 naming body.concurrency', async () => {
    const response = await consistencyApi(
      request('/consistency/experiments', {
        method: 'POST',
        body: { scenario: 'lost-update', concurrency: 64 },
      }),
      context(29_000),
    );
    expect(response.statusCode).toBe(403);
    expect(body(response).details.map((d: { path: string }) => d.path)).toEqual(['body.concurrency']);
  });
});

describe('identities of intents', () => {
  it('names one product per caller and Idempotency-Key', () => {
    const id = productIdFor('admin-1', 'key-1');
    expect(id).toMatch(UUID);
    expect(productIdFor('admin-1', 'key-1')).toBe(id);
    expect(productIdFor('admin-2', 'key-1')).not.toBe(id);
    expect(productIdFor('admin-1', 'key-2')).not.toBe(id);
  });

  it('fingerprints a create request by its fields', () => {
    const input = { name: 'Cup', category: 'kitchen', priceCents: 100, currency: 'EUR' };
    expect(productRequestHash(input)).toBe(productRequestHash({ ...input }));
    expect(productRequestHash({ ...input, priceCents: 101 })).not.toBe(productRequestHash(input));
  });

  it('tells cart states apart by version and lines, not by line order', () => {
    const line = (productId: string, updatedAt = '2026-01-01T00:00:00Z') => ({
      productId,
      quantity: 1,
      priceCents: 100,
      updatedAt,
    });
    const a = cartState({ version: 3, items: [line('a'), line('b')] });
    expect(cartState({ version: 3, items: [line('b'), line('a')] })).toEqual(a);
    expect(cartState({ version: 4, items: [line('a'), line('b')] })).not.toEqual(a);
    // An expired cart starts again at version 1: its lines were set at other times.
    expect(cartState({ version: 3, items: [line('a', '2026-02-01T00:00:00Z'), line('b')] }).digest).not.toBe(
      a.digest,
    );
  });
});
