import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../local/apigateway/router.ts';

describe('RouteTable (API Gateway REST resource matching)', () => {
  const routes = new RouteTable<string>();
  routes.add('/health', 'GET', 'health');
  routes.add('/products', 'GET', 'list');
  routes.add('/products', 'POST', 'create');
  routes.add('/products/{productId}', 'GET', 'get');
  routes.add('/products/featured', 'GET', 'featured');
  routes.add('/orders/{orderId}/cancel', 'POST', 'cancel');
  routes.add('/files/{proxy+}', 'ANY', 'files');

  it.each([
    ['GET', '/health', 'health', '/health', null],
    ['GET', '/products', 'list', '/products', null],
    ['POST', '/products/', 'create', '/products', null],
    ['GET', '/products/p-1', 'get', '/products/{productId}', { productId: 'p-1' }],
    ['GET', '/products/featured', 'featured', '/products/featured', null],
    // API Gateway REST APIs pass path parameters as sent, not URL-decoded.
    ['GET', '/products/a%20b', 'get', '/products/{productId}', { productId: 'a%20b' }],
    ['POST', '/orders/o-9/cancel', 'cancel', '/orders/{orderId}/cancel', { orderId: 'o-9' }],
    ['DELETE', '/files/a/b/c.txt', 'files', '/files/{proxy+}', { proxy: 'a/b/c.txt' }],
  ])('%s %s → %s', (method, path, target, resourcePath, pathParameters) => {
    const match = routes.match(method, path);
    expect(match).toEqual({
      kind: 'found',
      method: { httpMethod: expect.any(String), target },
      resourcePath,
      pathParameters,
    });
  });

  it('reports an unknown path as no route', () => {
    expect(routes.match('GET', '/nope').kind).toBe('no-route');
    expect(routes.match('GET', '/products/p-1/extra').kind).toBe('no-route');
    expect(routes.match('GET', '/orders/o-1').kind).toBe('no-route');
  });

  it('reports a known path with another method as no method, listing the allowed ones', () => {
    expect(routes.match('DELETE', '/products')).toEqual({ kind: 'no-method', allowed: ['GET', 'POST'] });
  });

  it('lists every route', () => {
    expect(routes.list()).toContain('GET /products/{productId}');
    expect(routes.list()).toHaveLength(7);
  });
});
