import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import { CONSISTENCY_TOKEN_HEADER, ConsistencyTokenHeader } from '../platform/read-your-writes.ts';
import { badRequest, type ErrorDetail, HttpError } from './errors.ts';

function toDetails(prefix: string, error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/**
 * Parses the JSON body against a zod schema. Answers 400 naming each bad field as `body.<field>`
 * (or `body` when it is missing or not JSON).
 *
 * @example
 * const input = parseBody(event, z.object({ quantity: z.int().min(1).max(99) }));
 */
export function parseBody<S extends z.ZodType>(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  schema: S,
): z.infer<S> {
  let raw: unknown;
  try {
    const text = event.isBase64Encoded
      ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
      : event.body;
    raw = text ? JSON.parse(text) : undefined;
  } catch {
    throw badRequest('The body is not valid JSON', [{ path: 'body', message: 'must be a JSON document' }]);
  }
  const result = schema.safeParse(raw ?? {});
  if (!result.success) throw badRequest('The body is invalid', toDetails('body', result.error));
  return result.data;
}

/** Parses the query string (last value of each name) against a zod schema; 400 names `query.<name>`. */
export function parseQuery<S extends z.ZodType>(
  event: Pick<APIGatewayProxyEvent, 'queryStringParameters'>,
  schema: S,
): z.infer<S> {
  const result = schema.safeParse(event.queryStringParameters ?? {});
  if (!result.success) throw badRequest('The query string is invalid', toDetails('query', result.error));
  return result.data;
}

/**
 * A path parameter API Gateway guarantees by the route, URL-decoded (a REST API passes it as the client sent
 * it: `a%40b` for `a@b`); a missing one is a wiring bug (500), a malformed escape a 400 naming `path.<name>`.
 * With a `schema`, a value it refuses is a 400 naming `path.<name>` with the schema's message.
 *
 * @example
 * const productId = pathParameter(event, 'productId', z.string().max(64, 'must be at most 64 characters'));
 */
export function pathParameter(
  event: Pick<APIGatewayProxyEvent, 'pathParameters'>,
  name: string,
  schema?: z.ZodType<string, string>,
): string {
  const value = event.pathParameters?.[name];
  if (!value) throw new HttpError(500, 'ROUTE_MISCONFIGURED', `Path parameter ${name} is missing`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    throw badRequest('The path is invalid', [
      { path: `path.${name}`, message: 'is not validly URL-encoded' },
    ]);
  }
  const result = (schema ?? z.string()).safeParse(decoded);
  if (!result.success) throw badRequest('The path is invalid', toDetails(`path.${name}`, result.error));
  return result.data;
}

/** A header by name, case-insensitively (API Gateway keeps the client's spelling). */
export function header(event: Pick<APIGatewayProxyEvent, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value ?? undefined;
  }
  return undefined;
}

/**
 * A header parsed by `schema`, which sees `undefined` when the header is absent; a value it refuses
 * is a 400 naming `header.<name>` with the schema's message.
 *
 * @example
 * const expectedVersion = parseHeader(event, 'If-Match', IfMatchVersion); // number | undefined
 */
export function parseHeader<S extends z.ZodType>(
  event: Pick<APIGatewayProxyEvent, 'headers'>,
  name: string,
  schema: S,
): z.infer<S> {
  const result = schema.safeParse(header(event, name));
  if (!result.success) {
    throw badRequest(`The ${name} header is invalid`, toDetails(`header.${name}`, result.error));
  }
  return result.data;
}

/**
 * The `x-consistency-token` a read sends back from a previous write's answer (read-your-writes,
 * `shared/platform/read-your-writes.ts`): undefined when absent, 400 naming the header when malformed.
 */
export const consistencyToken = (event: Pick<APIGatewayProxyEvent, 'headers'>) =>
  parseHeader(event, CONSISTENCY_TOKEN_HEADER, ConsistencyTokenHeader);

/** `Idempotency-Key`: 1–128 visible ASCII characters. */
const IdempotencyKey = z
  .string()
  .min(1, 'is required')
  .max(128, 'must be at most 128 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters');

/**
 * The `Idempotency-Key` header: 400 naming `header.Idempotency-Key` when it is malformed, or when it
 * is missing and `required`. Returns undefined for an optional key that was not sent.
 */
export function idempotencyKey(
  event: Pick<APIGatewayProxyEvent, 'headers'>,
  options: { required: true },
): string;
export function idempotencyKey(
  event: Pick<APIGatewayProxyEvent, 'headers'>,
  options: { required: false },
): string | undefined;
export function idempotencyKey(event: Pick<APIGatewayProxyEvent, 'headers'>, options: { required: boolean }) {
  const value = header(event, 'Idempotency-Key');
  if (value === undefined && !options.required) return undefined;
  const parsed = IdempotencyKey.safeParse(value ?? '');
  if (!parsed.success) {
    throw badRequest('The Idempotency-Key header is invalid', [
      { path: 'header.Idempotency-Key', message: parsed.error.issues[0]?.message ?? 'is invalid' },
    ]);
  }
  return parsed.data;
}
