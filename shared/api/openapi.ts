import { z } from 'zod';
import { ApiError, HEADERS, ROUTES, type RouteSpec } from './routes.ts';

/** JSON Schema (2020-12, OpenAPI 3.1's dialect) of what a client sends or receives. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  return rest;
}

const ERRORS: Record<string, string> = {
  '400': 'Bad input: `details` names each field (`body.x`, `query.x`, `header.x`, `path.x`)',
  '401': 'No valid bearer token',
  '403': 'Not allowed (admin routes need the admin group)',
  '404': 'No such resource',
  '409': 'Conflicts with the current state',
  '503': 'A dependency is unavailable or the deadline passed (Retry-After)',
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

function parameters(route: RouteSpec) {
  const path = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = route.query
    ? Object.entries(
        (jsonSchema(route.query, 'input').properties ?? {}) as Record<string, Record<string, unknown>>,
      ).map(([name, schema]) => ({ name, in: 'query', required: false, schema }))
    : [];
  const headers = (route.headers ?? []).map(({ name, required }) => ({
    name,
    in: 'header',
    required,
    description: HEADERS[name],
    schema: { type: 'string' },
  }));
  return [...path, ...query, ...headers];
}

function operation(route: RouteSpec) {
  const params = parameters(route);
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(ERRORS)) {
    if (route.auth === 'public' && (status === '401' || status === '403')) continue;
    responses[status] = errorResponse(description);
  }
  for (const [status, { description, schema }] of Object.entries(route.responses)) {
    responses[status] = schema
      ? { description, content: { 'application/json': { schema: jsonSchema(schema, 'output') } } }
      : { description };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.handler],
    ...(route.auth === 'admin' ? { description: 'Needs a user in the `admin` group.' } : {}),
    security: route.auth === 'public' ? [] : [{ bearer: [] }],
    'x-shop-auth': route.auth,
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: !route.bodyOptional,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

/**
 * The API as an OpenAPI 3.1 document, generated from the route manifest (`shared/api/routes.ts`)
 * and its zod schemas (`z.toJSONSchema`). Served at `GET /openapi.json` and committed as
 * `docs/openapi.json` (`npm run openapi` rewrites it; a unit test keeps it in step).
 *
 * @example
 * const document = openApiDocument();
 * document.paths['/products'].get.operationId; // 'listProducts'
 */
export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Serverless shop API',
      version: '1',
      description:
        'Catalog, cart and orders on AWS Lambda, with a consistency lab and a data-lake ETL. Paths are relative to the stage (`/v1`).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/v1' }],
    paths,
    components: {
      schemas: { Error: jsonSchema(ApiError, 'output') },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
