import * as path from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readAssembly } from '../../local/cloud/assembly.ts';
import { ensureSigningKey } from '../../local/cloud/signing-key.ts';
import { LocalFunction } from '../../local/lambda/local-function.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../shared/auth/jwt.ts';
import { AUTH_ROUTES_ENV } from '../../shared/middleware/jwt-auth.ts';
import { control, tokenFor } from './helpers.ts';

/*
 * What target=localstack does differently from the local target, run on the local cloud.
 *
 * 1. Migrations: no custom resource; deploy-localstack.sh invokes the migration function directly.
 *
 * 2. target=localstack has no API Gateway authorizer: its functions verify the bearer JWT in the shared
 * HTTP middleware, told by AUTH_JWT_ROUTES. Here the local cloud's own bundle of the Me function runs
 * in the local Lambda runtime configured that way, and is invoked with API Gateway proxy events
 * that carry no authorizer context (what LocalStack sends for an AuthorizationType NONE method).
 */

let me: LocalFunction;

beforeAll(async () => {
  const cdkOut = path.join(inject('stateDir'), 'cdk.out');
  const services = (await readAssembly(cdkOut)).find((s) => s.stackName === 'Shop-dev-Services');
  const resource = Object.entries(services?.template.Resources ?? {}).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && /^Me[0-9A-F]{8}$/.test(id),
  )?.[1];
  const assetPath = resource?.Metadata?.['aws:asset:path'];
  if (typeof assetPath !== 'string') throw new Error('no Me function with an asset in the local assembly');
  const deployed = (
    await control<{ name: string; environment: Record<string, string> }[]>('/functions')
  ).find((f) => f.name.startsWith('Shop-dev-Services-Me'));
  const key = await ensureSigningKey(path.join(inject('stateDir'), 'keys'));
  me = new LocalFunction(
    {
      name: 'MeWithMiddlewareAuth',
      codeDir: path.join(cdkOut, assetPath),
      handler: 'index.handler',
      timeoutSeconds: 10,
      memoryMB: 256,
      // What the localstack template gives it (see test/infra/localstack.test.ts).
      environment: {
        ...deployed?.environment,
        [AUTH_ROUTES_ENV]: 'GET /me',
        JWT_PUBLIC_JWK: JSON.stringify(key.publicJwk),
        JWT_ISSUER: LOCAL_ISSUER,
        JWT_AUDIENCE: LOCAL_AUDIENCE,
      },
    },
    {
      baseEnv: { AWS_REGION: 'us-east-1', POWERTOOLS_TRACE_ENABLED: 'false', POWERTOOLS_LOG_LEVEL: 'SILENT' },
      log: () => {},
    },
  );
});
afterAll(async () => {
  await me?.stop();
});

const proxyEvent = (headers: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  resource: '/me',
  path: '/me',
  httpMethod: 'GET',
  headers,
  multiValueHeaders: {},
  queryStringParameters: null,
  pathParameters: null,
  body: null,
  isBase64Encoded: false,
  requestContext: {
    requestId: crypto.randomUUID(),
    stage: 'v1',
    httpMethod: 'GET',
    resourcePath: '/me',
    ...extra,
  },
});

async function invoke(event: unknown): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const result = await me.invoke(event);
  if (!result.ok) throw new Error(`${result.error.errorType}: ${result.error.errorMessage}`);
  const response = result.payload as APIGatewayProxyResult;
  return { statusCode: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
}

describe('a function that verifies JWTs itself (auth: middleware)', () => {
  it('answers a valid token with the caller, as the authorizer would', async () => {
    const admin = await invoke(
      proxyEvent({ Authorization: `Bearer ${await tokenFor('root', { admin: true })}` }),
    );
    expect(admin).toEqual({ statusCode: 200, body: { userId: 'root', groups: ['admin'], isAdmin: true } });
    const alice = await invoke(proxyEvent({ authorization: `Bearer ${await tokenFor('alice')}` }));
    expect(alice.body).toEqual({ userId: 'alice', groups: [], isAdmin: false });
  });

  it('answers 401 in the API error shape for a missing, forged or expired token', async () => {
    const missing = await invoke(proxyEvent({}));
    expect(missing).toMatchObject({ statusCode: 401, body: { error: 'UNAUTHORIZED' } });
    const forged = await invoke(
      proxyEvent({ Authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA' }),
    );
    expect(forged.statusCode).toBe(401);
    const expired = await invoke(
      proxyEvent({ Authorization: `Bearer ${await tokenFor('alice', { expiresIn: '-1m' })}` }),
    );
    expect(expired.statusCode).toBe(401);
  });

  it('ignores an authorizer context that arrived with the event', async () => {
    const spoofed = await invoke(
      proxyEvent({}, { authorizer: { sub: 'mallory', 'cognito:groups': 'admin' } }),
    );
    expect(spoofed.statusCode).toBe(401);
  });
});

describe('the migration function invoked directly (what deploy-localstack.sh does)', () => {
  it('answers {applied} and applies nothing twice', async () => {
    const functions = await control<{ name: string }[]>('/functions');
    const migrate = functions.find((f) => f.name.startsWith('Shop-dev-Database-Migrate'));
    expect(migrate, JSON.stringify(functions.map((f) => f.name))).toBeDefined();
    const result = await control<{ ok: boolean; payload: { applied: string[] } }>(
      `/functions/${migrate?.name}/invoke`,
      { method: 'POST', body: '{}' },
    );
    expect(result).toMatchObject({ ok: true, payload: { applied: [] } });
  });
});
