import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../shared/api/openapi.ts';
import { ROUTES } from '../../shared/api/routes.ts';

const committed = () => JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));

describe('OpenAPI document (generated from the route manifest)', () => {
  const document = openApiDocument();

  it('validates as OpenAPI 3.1 (the OpenAPI Initiative’s 3.1 JSON Schema, via @seriousme/openapi-schema-validator)', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('is refused by the validator when broken (the check can fail)', async () => {
    const broken = JSON.parse(JSON.stringify(document));
    broken.paths['/health'].get.responses = 'none';
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });

  it('lists every manifest route once, with its auth and schemas', () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    );
    expect(operations.map((o) => o.key).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of ROUTES) {
      const op = document.paths[route.path]?.[route.method.toLowerCase()] as Record<string, unknown>;
      expect(op['x-shop-auth'], route.path).toBe(route.auth);
      expect(op.security).toEqual(route.auth === 'public' ? [] : [{ bearer: [] }]);
      expect(Boolean(op.requestBody), `${route.method} ${route.path} body`).toBe('body' in route);
      const responses = op.responses as Record<string, { content?: unknown }>;
      for (const status of Object.keys(route.responses)) expect(responses[status]).toBeDefined();
    }
  });

  it('describes bodies and query strings from the zod schemas', () => {
    const createProduct = document.paths['/products']?.post as {
      requestBody: { content: { 'application/json': { schema: { required: string[] } } } };
    };
    expect(createProduct.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['name', 'category', 'priceCents', 'currency']),
    );
    const list = document.paths['/products']?.get as { parameters: { name: string; in: string }[] };
    expect(list.parameters.map((p) => `${p.in}.${p.name}`)).toEqual([
      'query.category',
      'query.limit',
      'query.cursor',
    ]);
    const order = document.paths['/orders']?.post as { parameters: { name: string; required: boolean }[] };
    expect(order.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', required: true }),
    );
  });

  it('is committed as docs/openapi.json, in step with the manifest (npm run openapi rewrites it)', () => {
    expect(committed()).toEqual(JSON.parse(JSON.stringify(document)));
  });
});
