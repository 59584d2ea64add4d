import { describe, expect, it, vi } from 'vitest';
import { HANDLERS, type HandlerId, ROUTES, routeKey } from '../../shared/api/routes.ts';
import { type RouteHandler, routes, servedRoutes } from '../../shared/http/router.ts';

const ok: RouteHandler = async () => ({ statusCode: 200, body: '' });

describe('route manifest ↔ handler routing', () => {
  it('has each route once, with a unique operation id', () => {
    expect(new Set(ROUTES.map(routeKey)).size).toBe(ROUTES.length);
    expect(new Set(ROUTES.map((r) => r.operationId)).size).toBe(ROUTES.length);
  });

  it('refuses a handler table that serves a route the manifest does not list, or misses one', () => {
    expect(() =>
      // @ts-expect-error GET /nope is not in the manifest
      routes('me', { 'GET /me': ok, 'GET /nope': ok }),
    ).toThrow(/serves \[GET \/me, GET \/nope\] but the route manifest lists \[GET \/me\]/);
    // @ts-expect-error GET /openapi.json is missing
    expect(() => routes('health', { 'GET /health': ok })).toThrow(/route manifest lists/);
  });

  it.each(Object.entries(HANDLERS).map(([id, { entry }]) => [id, entry]))(
    '%s (%s) serves exactly its manifest routes',
    async (id, entry) => {
      for (const name of [
        'CATALOG_TABLE',
        'CARTS_TABLE',
        'LAKE_RAW_BUCKET',
        'IDEMPOTENCY_TABLE',
        'EVENT_BUS_NAME',
        'ETL_STATE_TABLE',
        'ETL_STATE_MACHINE_ARN',
        'LAB_TABLE',
      ])
        vi.stubEnv(name, `test-${name.toLowerCase()}`);
      vi.stubEnv('AWS_REGION', 'eu-west-1');
      const module = (await import(new URL(`../../${entry}`, import.meta.url).href)) as { handler?: unknown };
      expect(module.handler).toBeTypeOf('function');
      const expected = ROUTES.filter((r) => r.handler === id)
        .map(routeKey)
        .sort();
      expect(servedRoutes.get(id as HandlerId)).toEqual(expected);
    },
    60_000, // the first import loads the SDK, Powertools and zod
  );
});
