import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/cart/api.ts';
import { handler as orderPlaced } from '../../functions/cart/order-placed.ts';

/*
 * The cart handlers' request validation, which answers before any table is touched. No table names are
 * set here: a request that got as far as DynamoDB would fail with a 500, not the 400 expected.
 */
const context = {
  awsRequestId: 'req-1',
  functionName: 'cart',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;

function request(
  method: string,
  resource: string,
  options: { productId?: string; body?: string; headers?: Record<string, string>; sub?: string } = {},
): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    resource,
    path: resource.replace('{productId}', options.productId ?? ''),
    pathParameters: options.productId === undefined ? null : { productId: options.productId },
    headers: options.headers ?? {},
    body: options.body ?? null,
    isBase64Encoded: false,
    requestContext: { authorizer: options.sub === '' ? {} : { sub: options.sub ?? 'alice' } },
  } as unknown as APIGatewayProxyEvent;
}

async function call(event: APIGatewayProxyEvent) {
  const response = await handler(event, context);
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

describe('cart API validation', () => {
  it.each([
    ['0', { quantity: 0 }],
    ['100', { quantity: 100 }],
    ['"x"', { quantity: 'x' }],
    ['missing', {}],
  ])('answers quantity %s with 400 naming body.quantity', async (_, body) => {
    const response = await call(
      request('PUT', '/cart/items/{productId}', { productId: 'p-1', body: JSON.stringify(body) }),
    );
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('VALIDATION_FAILED');
    expect(response.body.details.map((d: { path: string }) => d.path)).toEqual(['body.quantity']);
  });

  it('answers a body that is not JSON with 400 naming body', async () => {
    const response = await call(request('PUT', '/cart/items/{productId}', { productId: 'p-1', body: '{' }));
    expect(response.status).toBe(400);
    expect(response.body.details).toEqual([{ path: 'body', message: 'must be a JSON document' }]);
  });

  it.each([
    ['PUT', '/cart/items/{productId}'],
    ['DELETE', '/cart/items/{productId}'],
    ['DELETE', '/cart'],
  ])('%s %s answers a malformed If-Match with 400 naming header.If-Match', async (method, resource) => {
    const response = await call(
      request(method, resource, {
        productId: 'p-1',
        body: JSON.stringify({ quantity: 1 }),
        headers: { 'if-match': 'W/"3"' },
      }),
    );
    expect(response.status).toBe(400);
    expect(response.body.details[0].path).toBe('header.If-Match');
  });

  it('answers an overlong product id with 400 naming path.productId', async () => {
    const response = await call(request('DELETE', '/cart/items/{productId}', { productId: 'x'.repeat(65) }));
    expect(response.status).toBe(400);
    expect(response.body.details[0].path).toBe('path.productId');
  });

  it('answers a request without a caller with 401', async () => {
    const response = await call(request('GET', '/cart', { sub: '' }));
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('UNAUTHORIZED');
  });

  it('answers a route it does not serve with 404', async () => {
    const response = await call(request('POST', '/cart'));
    expect(response.status).toBe(404);
  });
});

describe('OrderPlaced consumer', () => {
  it('throws on an invalid event so EventBridge retries and dead-letters it', async () => {
    const event = {
      id: 'e-1',
      'detail-type': 'OrderPlaced',
      source: 'shop.orders',
      detail: { userId: 'alice' },
    };
    await expect(orderPlaced(event as never, context)).rejects.toThrow(/Invalid OrderPlaced event e-1/);
  });
});
