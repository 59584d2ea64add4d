import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/consistency/api.ts';
import { handler as runner } from '../../functions/consistency/runner.ts';

/*
 * The lab API's validation, which answers before any store is touched: no database or table is
 * configured here, so a request that got further would fail with a 500, not the 400/401/404 expected.
 */
const context = {
  awsRequestId: 'req-1',
  functionName: 'consistency',
  getRemainingTimeInMillis: () => 29_000,
} as unknown as Context;

function request(
  method: string,
  resource: string,
  options: { body?: string; experimentId?: string; query?: Record<string, string>; sub?: string } = {},
): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    resource,
    path: resource.replace('{experimentId}', options.experimentId ?? ''),
    pathParameters: options.experimentId === undefined ? null : { experimentId: options.experimentId },
    queryStringParameters: options.query ?? null,
    headers: {},
    body: options.body ?? null,
    isBase64Encoded: false,
    requestContext: { authorizer: options.sub === '' ? {} : { sub: options.sub ?? 'alice' } },
  } as unknown as APIGatewayProxyEvent;
}

async function call(event: APIGatewayProxyEvent) {
  const response = await handler(event, context);
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

const post = (body: unknown, sub?: string) =>
  call(
    request('POST', '/consistency/experiments', {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      sub,
    }),
  );

describe('consistency API validation', () => {
  it.each([
    [{ scenario: 'dirty-read' }, 'body.scenario'],
    [{}, 'body.scenario'],
    [{ scenario: 'lost-update', trials: 0 }, 'body.trials'],
    [{ scenario: 'lost-update', trials: 5000 }, 'body.trials'],
    [{ scenario: 'lost-update', concurrency: 0 }, 'body.concurrency'],
    [{ scenario: 'lost-update', concurrency: 100 }, 'body.concurrency'],
    [{ scenario: 'oversell', stock: -1 }, 'body.stock'],
    [{ scenario: 'oversell', thinkTimeMs: 5000 }, 'body.thinkTimeMs'],
    [{ scenario: 'oversell', thinkTimeMs: null }, 'body.thinkTimeMs'],
  ])('answers %j with 400 naming %s', async (body, path) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('VALIDATION_FAILED');
    expect(response.body.details.map((d: { path: string }) => d.path)).toEqual([path]);
  });

  it('names an unknown field', async () => {
    const response = await post({ scenario: 'oversell', concurency: 8 });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body.details)).toContain('concurency');
  });

  it('refuses a run that would outlast the runner, before running anything', async () => {
    const response = await post({ scenario: 'oversell', stock: 10_000, thinkTimeMs: 1000 });
    expect(response.status).toBe(400);
    expect(response.body.details[0].message).toMatch(/would take about \d+ min \(limit 10 min\)/);
  });

  it('answers a body that is not JSON with 400 naming body', async () => {
    const response = await post('{');
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([{ path: 'body', message: 'must be a JSON document' }]);
  });

  it('needs a caller', async () => {
    expect((await post({ scenario: 'oversell' }, '')).status).toBe(401);
  });

  it('answers an experiment id that is not a UUID with 404, and a bad listing query with 400', async () => {
    const missing = await call(
      request('GET', '/consistency/experiments/{experimentId}', { experimentId: 'not-a-uuid' }),
    );
    expect(missing.status).toBe(404);
    const badLimit = await call(request('GET', '/consistency/experiments', { query: { limit: '0' } }));
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.details[0].path).toBe('query.limit');
    const badScenario = await call(request('GET', '/consistency/experiments', { query: { scenario: 'x' } }));
    expect(badScenario.body.details[0].path).toBe('query.scenario');
  });
});

describe('consistency runner', () => {
  it('refuses an event whose detail is not an experiment request (EventBridge retries, then dead-letters)', async () => {
    const event = { detail: { schemaVersion: 1, experimentId: 'nope' } };
    await expect(runner(event as never, context)).rejects.toThrow();
  });
});
