import type { APIGatewayProxyResult } from 'aws-lambda';

/**
 * The CORS headers of every answer, when the API has a web console (`CORS_ALLOW_ORIGIN`: its one
 * origin). With Lambda proxy integrations API Gateway passes the function's headers through, so the
 * function sets them; the preflight (OPTIONS) and the gateway's own errors are configured on the API.
 * Exposed: the headers the console reads (`ETag` for If-Match, `x-read-consistency`, `Location`).
 */
export function corsHeaders(): Record<string, string> {
  const origin = process.env.CORS_ALLOW_ORIGIN;
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': 'ETag, x-read-consistency, Location',
    vary: 'Origin',
  };
}

/** A JSON response with the headers every route sends. */
export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...corsHeaders(),
      ...headers,
    },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

/** An answer without a body (204), with the same headers. */
export function noContent(): APIGatewayProxyResult {
  return { statusCode: 204, headers: { 'cache-control': 'no-store', ...corsHeaders() }, body: '' };
}
