import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { JWK } from 'jose';
import { verifyToken } from '../auth/jwt.ts';
import { requireEnv } from '../config.ts';
import { unauthorized } from '../http/errors.ts';

/**
 * The variable that turns the middleware on: the routes (`METHOD /resource/{param}`, comma-separated,
 * as in the event's `httpMethod` and `resource`) whose callers must present a valid bearer token.
 * The stack sets it, with `JWT_PUBLIC_JWK`, `JWT_ISSUER` and `JWT_AUDIENCE`, where API Gateway has no
 * authorizer to do it (LocalStack Community has no `AWS::ApiGateway::Authorizer`).
 */
export const AUTH_ROUTES_ENV = 'AUTH_JWT_ROUTES';

/** `"GET /cart,PUT /cart/items/{productId}"` → a set of route keys. */
export function parseRoutes(value: string | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((route) => route.trim().replace(/\s+/, ' '))
      .filter(Boolean),
  );
}

let cachedJwk: { text: string; jwk: JWK } | undefined;
const publicJwk = (env: NodeJS.ProcessEnv): JWK => {
  const text = requireEnv('JWT_PUBLIC_JWK', env);
  if (cachedJwk?.text !== text) cachedJwk = { text, jwk: JSON.parse(text) as JWK };
  return cachedJwk.jwk;
};

/**
 * Verifies the bearer JWT in the function itself, when the stack says so ({@link AUTH_ROUTES_ENV}):
 * on a listed route a missing, malformed, expired or wrongly signed token is a 401 before the handler
 * runs; a valid one puts its claims where a Lambda TOKEN authorizer would (`requestContext.authorizer`,
 * flat strings: `sub`, `cognito:groups`, `email`), so handlers read the caller the same way on every
 * target. Unlisted routes are public: their authorizer context is empty, whatever the request carries.
 * Without the variable the middleware does nothing (API Gateway's authorizer did the work).
 *
 * @example
 * // AUTH_JWT_ROUTES="GET /me" JWT_PUBLIC_JWK='{"kty":"EC",…}' JWT_ISSUER=… JWT_AUDIENCE=…
 * export const handler = middy(fn).use(jwtAuth());
 */
export function jwtAuth(
  env: NodeJS.ProcessEnv = process.env,
): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    before: async ({ event }) => {
      const routes = env[AUTH_ROUTES_ENV];
      if (routes === undefined || routes === '') return;
      const requestContext = (event.requestContext ?? {}) as APIGatewayProxyEvent['requestContext'];
      event.requestContext = requestContext;
      // Only a verified token may fill this in: never trust what arrived with the event.
      requestContext.authorizer = {};
      if (!parseRoutes(routes).has(`${event.httpMethod} ${event.resource}`)) return;
      const header = Object.entries(event.headers ?? {}).find(
        ([name]) => name.toLowerCase() === 'authorization',
      );
      const token = /^Bearer\s+(\S+)\s*$/i.exec(header?.[1] ?? '')?.[1];
      if (!token) throw unauthorized();
      // A missing setting is the deployment's fault (500), not the caller's (401).
      const key = publicJwk(env);
      const expected = { issuer: requireEnv('JWT_ISSUER', env), audience: requireEnv('JWT_AUDIENCE', env) };
      let claims: Awaited<ReturnType<typeof verifyToken>>;
      try {
        claims = await verifyToken(token, key, expected);
      } catch {
        throw unauthorized('The bearer token is invalid or expired');
      }
      requestContext.authorizer = {
        sub: claims.sub,
        'cognito:groups': (claims['cognito:groups'] ?? []).join(','),
        ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
      };
    },
  };
}
