import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { identityFrom } from '../../shared/auth/identity.ts';
import { signToken } from '../../shared/auth/jwt.ts';
import { json } from '../../shared/http/response.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';
import { parseRoutes } from '../../shared/middleware/jwt-auth.ts';

const context = {
  awsRequestId: 'req-1',
  functionName: 'f',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;
const issuer = 'https://issuer.test';
const audience = 'shop';
let privateJwk: JWK;
let otherPrivateJwk: JWK;
let publicJwk: JWK;

beforeAll(async () => {
  const pair = async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    return {
      publicJwk: await exportJWK(publicKey),
      privateJwk: { ...(await exportJWK(privateKey)), kid: 'k' },
    };
  };
  ({ privateJwk, publicJwk } = await pair());
  otherPrivateJwk = (await pair()).privateJwk;
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const configure = (routes: string) => {
  vi.stubEnv('AUTH_JWT_ROUTES', routes);
  vi.stubEnv('JWT_PUBLIC_JWK', JSON.stringify(publicJwk));
  vi.stubEnv('JWT_ISSUER', issuer);
  vi.stubEnv('JWT_AUDIENCE', audience);
};
const token = (
  key = privateJwk,
  claims: { sub: string; groups?: string[] } = { sub: 'alice' },
  expiresIn = '5m',
) => signToken(key, claims, { issuer, audience, expiresIn });
const event = (method: string, resource: string, headers: Record<string, string> = {}, authorizer?: object) =>
  ({
    httpMethod: method,
    resource,
    headers,
    requestContext: { authorizer },
  }) as unknown as APIGatewayProxyEvent;

// A handler that, like the shop's, reads the caller only where it needs one.
const handler = httpHandler(async (e) =>
  e.resource === '/products' ? json(200, { public: true }) : json(200, identityFrom(e)),
);
const call = async (e: APIGatewayProxyEvent) => {
  const response = await handler(e, context);
  return { status: response.statusCode, body: JSON.parse(response.body) };
};

describe('jwtAuth (the HTTP middleware verifying bearer tokens where API Gateway does not)', () => {
  it('puts the claims of a valid token where an authorizer would, for the handler to read', async () => {
    configure('GET /me, POST /products/{productId}');
    const bearer = `Bearer ${await token(privateJwk, { sub: 'root', groups: ['admin'] })}`;
    expect(await call(event('GET', '/me', { Authorization: bearer }))).toEqual({
      status: 200,
      body: { userId: 'root', groups: ['admin'], isAdmin: true },
    });
    // Header names are case-insensitive.
    expect((await call(event('GET', '/me', { authorization: `Bearer ${await token()}` }))).body.userId).toBe(
      'alice',
    );
  });

  it('answers 401 in the API error shape for a missing, malformed, foreign-key or expired token', async () => {
    configure('GET /me');
    const cases: Record<string, string>[] = [
      {},
      { Authorization: 'Basic YWxpY2U6c2VjcmV0' },
      { Authorization: 'Bearer not-a-jwt' },
      { Authorization: `Bearer ${await token(otherPrivateJwk)}` },
      { Authorization: `Bearer ${await token(privateJwk, { sub: 'alice' }, '-1m')}` },
    ];
    for (const headers of cases) {
      const response = await call(event('GET', '/me', headers));
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect(response.body.error).toBe('UNAUTHORIZED');
    }
  });

  it('leaves unlisted routes public and never trusts an authorizer context sent with the event', async () => {
    configure('GET /me');
    expect(await call(event('GET', '/products'))).toEqual({ status: 200, body: { public: true } });
    const spoofed = await call(event('GET', '/me', {}, { sub: 'mallory', 'cognito:groups': 'admin' }));
    expect(spoofed.status).toBe(401);
  });

  it('does nothing without AUTH_JWT_ROUTES: API Gateway’s authorizer context is used as it is', async () => {
    vi.stubEnv('AUTH_JWT_ROUTES', '');
    expect(await call(event('GET', '/me', {}, { sub: 'from-authorizer' }))).toMatchObject({
      status: 200,
      body: { userId: 'from-authorizer' },
    });
  });

  it('answers 500, not 401, when the deployment forgot the key', async () => {
    configure('GET /me');
    vi.stubEnv('JWT_PUBLIC_JWK', '');
    expect((await call(event('GET', '/me', { Authorization: `Bearer ${await token()}` }))).status).toBe(500);
  });

  it('parses the route list the stack writes', () => {
    expect([...parseRoutes(' GET /me,POST  /products/{productId},,')]).toEqual([
      'GET /me',
      'POST /products/{productId}',
    ]);
    expect(parseRoutes(undefined).size).toBe(0);
  });
});
