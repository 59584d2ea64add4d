import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Invoke, LocalApiGateway } from '../../local/apigateway/gateway.ts';

/**
 * The local API Gateway's answers when the integration or the authorizer fails, checked against
 * what API Gateway documents: INTEGRATION_TIMEOUT is 504 "Endpoint request timed out" after 29 s
 * (API Gateway developer guide, "Gateway response types" and "Amazon API Gateway quotas");
 * an authorizer that fails is AUTHORIZER_CONFIGURATION_ERROR / AUTHORIZER_FAILURE, 500 (same page);
 * a throttled Lambda integration is a 500 "Internal server error" (AWS knowledge center,
 * "How do I troubleshoot API Gateway internal server errors?": throttling).
 */

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(invoke: Invoke, integrationTimeoutMs?: number): Promise<string> {
  const gateway = new LocalApiGateway({
    invoke,
    restApiId: 'api',
    stage: 'v1',
    region: 'us-east-1',
    accountId: '000000000000',
    integrationTimeoutMs,
  });
  gateway.addAuthorizer({
    id: 'auth',
    type: 'TOKEN',
    functionArn: 'authorizer',
    identitySource: 'method.request.header.Authorization',
    resultTtlSeconds: 0,
  });
  gateway.addMethod({
    resourcePath: '/open',
    httpMethod: 'GET',
    authorizationType: 'NONE',
    functionArn: 'fn',
  });
  gateway.addMethod({
    resourcePath: '/closed',
    httpMethod: 'GET',
    authorizationType: 'CUSTOM',
    authorizerId: 'auth',
    functionArn: 'fn',
  });
  const server = createServer((req, res) => void gateway.handle(req, res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

const ok = { ok: true as const, payload: { statusCode: 200, body: '{"fine":true}' } };
const allow = {
  ok: true as const,
  payload: {
    principalId: 'u1',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' }],
    },
  },
};

describe('the local gateway under failure', () => {
  it('answers 504 "Endpoint request timed out" when the integration outlives the integration timeout', async () => {
    let signal: AbortSignal | undefined;
    const url = await serve(async (_arn, _event, options) => {
      signal = options?.signal;
      return new Promise(() => {}); // a frozen dependency: never answers
    }, 300);
    const started = performance.now();
    const response = await fetch(`${url}/open`);
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(performance.now() - started).toBeLessThan(10_000);
    // The integration is told, so a request still queued for a worker is dropped.
    expect(signal?.aborted).toBe(true);
  });

  it('defaults to API Gateway’s 29 s', async () => {
    const { INTEGRATION_TIMEOUT_MS } = await import('../../local/apigateway/gateway.ts');
    expect(INTEGRATION_TIMEOUT_MS).toBe(29_000);
  });

  it('answers 500 when the authorizer fails (a crashed worker), 401 only when it says Unauthorized', async () => {
    const crashed = await serve(async (arn) =>
      arn === 'authorizer'
        ? {
            ok: false,
            error: {
              errorType: 'Runtime.ExitError',
              errorMessage: 'Runtime exited with error: signal: killed',
            },
          }
        : ok,
    );
    const failed = await fetch(`${crashed}/closed`, { headers: { authorization: 'Bearer x' } });
    expect(failed.status).toBe(500);
    expect(failed.headers.get('x-amzn-errortype')).toBe('AuthorizerConfigurationException');

    const denying = await serve(async (arn) =>
      arn === 'authorizer' ? { ok: false, error: { errorType: 'Error', errorMessage: 'Unauthorized' } } : ok,
    );
    const denied = await fetch(`${denying}/closed`, { headers: { authorization: 'Bearer x' } });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ message: 'Unauthorized' });

    const allowing = await serve(async (arn) => (arn === 'authorizer' ? allow : ok));
    expect((await fetch(`${allowing}/closed`, { headers: { authorization: 'Bearer x' } })).status).toBe(200);
  });

  it('answers 500 "Internal server error" when the Lambda integration is throttled', async () => {
    const url = await serve(async () => ({
      ok: false,
      throttled: true,
      error: { errorType: 'TooManyRequestsException', errorMessage: 'Rate Exceeded.' },
    }));
    const response = await fetch(`${url}/open`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal server error' });
  });
});
