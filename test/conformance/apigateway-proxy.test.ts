/**
 * The local API gateway (local/apigateway/gateway.ts) against the API Gateway developer guide's Lambda proxy
 * integration: the input event of its `POST /testStage/hello/world?name=me` example, the output format
 * (headers merged with multiValueHeaders, base64 bodies, 502 on anything else) and the gateway's own answers.
 * A real HTTP server on 127.0.0.1 with an in-process "function" that returns what it is asked to.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Invoke, LocalApiGateway } from '../../local/apigateway/gateway.ts';
import { SOURCES } from './sources.ts';

type ProxyEvent = Record<string, unknown> & {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  requestContext: Record<string, unknown> & { identity: Record<string, unknown> };
};

let events: ProxyEvent[] = [];
let reply: (event: ProxyEvent) => unknown = () => ({ statusCode: 200, body: 'ok' });
const invoke: Invoke = async (_arn, event) => {
  events.push(event as ProxyEvent);
  return { ok: true, payload: reply(event as ProxyEvent) };
};

const gateway = new LocalApiGateway({
  invoke,
  restApiId: 'gy415nuibc',
  stage: 'testStage',
  region: 'us-east-1',
  accountId: '123456789012',
  binaryMediaTypes: ['image/png'],
});
gateway.addMethod({
  resourcePath: '/{proxy+}',
  httpMethod: 'ANY',
  authorizationType: 'NONE',
  functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:SimpleLambda4ProxyResource',
});
gateway.addMethod({
  resourcePath: '/users/{userId}',
  httpMethod: 'GET',
  authorizationType: 'NONE',
  functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:Users',
});

/** Serves a gateway on a free port of 127.0.0.1; `close` stops it. */
async function serve(target: LocalApiGateway): Promise<{ base: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => void target.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let base: string;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ base, close } = await serve(gateway));
});
afterAll(() => close());

async function call(path: string, init: RequestInit = {}) {
  events = [];
  const response = await fetch(`${base}${path}`, init);
  return { response, text: await response.text(), event: events[0] as ProxyEvent };
}

describe(`${SOURCES.apigwProxy}: input format (conformance)`, () => {
  it('maps POST /testStage/hello/world?name=me onto the {proxy+} resource as in the guide', async () => {
    const { event } = await call('/testStage/hello/world?name=me&multivalueName=you&multivalueName=me', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', headerName: 'headerValue' },
      body: '{\r\n\t"a": 1\r\n}',
    });
    expect(event).toMatchObject({
      resource: '/{proxy+}',
      path: '/hello/world',
      httpMethod: 'POST',
      queryStringParameters: { name: 'me', multivalueName: 'me' },
      multiValueQueryStringParameters: { name: ['me'], multivalueName: ['you', 'me'] },
      pathParameters: { proxy: 'hello/world' },
      body: '{\r\n\t"a": 1\r\n}',
      isBase64Encoded: false,
    });
    expect(event.headers).toMatchObject({ 'Content-Type': 'application/json', headerName: 'headerValue' });
    expect(event.multiValueHeaders).toMatchObject({ headerName: ['headerValue'] });
    expect(event.requestContext).toMatchObject({
      accountId: '123456789012',
      stage: 'testStage',
      resourcePath: '/{proxy+}',
      httpMethod: 'POST',
      apiId: 'gy415nuibc',
      path: '/testStage/hello/world',
      protocol: 'HTTP/1.1',
    });
  });

  it('passes the X-Forwarded-* headers, and not the connection framing (Content-Length) of the request', async () => {
    const { event } = await call('/testStage/hello', { method: 'POST', body: 'x' });
    const names = Object.keys(event.headers).map((h) => h.toLowerCase());
    expect(names).not.toContain('content-length');
    expect(names).not.toContain('connection');
    expect(event.headers).toMatchObject({
      'X-Forwarded-For': '127.0.0.1',
      'X-Forwarded-Port': expect.stringMatching(/^\d+$/),
      'X-Forwarded-Proto': expect.any(String),
    });
    expect(event.multiValueHeaders['X-Forwarded-For']).toEqual(['127.0.0.1']);
  });

  it('adds an X-Amzn-Trace-Id header in the X-Ray format', async () => {
    const { event } = await call('/testStage/hello');
    expect(event.headers['X-Amzn-Trace-Id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });

  it('appends the client address to an X-Forwarded-For the client sent', async () => {
    const { event } = await call('/testStage/hello', { headers: { 'X-Forwarded-For': '54.240.196.186' } });
    expect(event.headers['X-Forwarded-For']).toBe('54.240.196.186, 127.0.0.1');
  });

  it('gives requestContext.identity every documented field, null where there is no caller identity', async () => {
    const { event } = await call('/testStage/hello', { headers: { 'User-Agent': 'PostmanRuntime/2.4.5' } });
    expect(event.requestContext.identity).toMatchObject({
      cognitoIdentityPoolId: null,
      accountId: null,
      cognitoIdentityId: null,
      caller: null,
      apiKey: null,
      sourceIp: '127.0.0.1',
      cognitoAuthenticationType: null,
      cognitoAuthenticationProvider: null,
      userArn: null,
      userAgent: 'PostmanRuntime/2.4.5',
      user: null,
    });
  });

  it('uses the CLF requestTime, the execute-api domain name and its prefix, as the AWS_IAM example shows', async () => {
    const { event } = await call('/testStage/hello');
    const context = event.requestContext;
    expect(context.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(typeof context.requestTimeEpoch).toBe('number');
    expect(context.domainName).toBe('gy415nuibc.execute-api.us-east-1.amazonaws.com');
    expect(context.domainPrefix).toBe('gy415nuibc');
    expect(context.path).toBe('/testStage/hello');
    expect(context.resourceId).toMatch(/^[0-9a-z]{6}$/);
  });

  it('has the shape of events/samples/api/get-health.json (npm run invoke): same fields, requestContext and identity', async () => {
    const sample = JSON.parse(
      readFileSync(new URL('../../events/samples/api/get-health.json', import.meta.url), 'utf8'),
    ) as ProxyEvent;
    const { event } = await call('/testStage/hello');
    const keys = (o: object) => Object.keys(o).sort();
    expect(keys(sample)).toEqual(keys(event));
    expect(keys(sample.requestContext)).toEqual(keys(event.requestContext));
    expect(keys(sample.requestContext.identity)).toEqual(keys(event.requestContext.identity));
    for (const name of ['X-Amzn-Trace-Id', 'X-Forwarded-For', 'X-Forwarded-Port', 'X-Forwarded-Proto'])
      expect(Object.keys(sample.headers)).toContain(name);
  });

  it('passes path parameters as the client encoded them', async () => {
    const { event } = await call('/testStage/users/a%40b%20c');
    expect(event.pathParameters).toEqual({ userId: 'a%40b%20c' });
  });

  it('base64-encodes a request body of a binary media type', async () => {
    const { event } = await call('/testStage/upload', {
      method: 'PUT',
      headers: { 'Content-Type': 'image/png' },
      body: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    });
    expect(event).toMatchObject({
      isBase64Encoded: true,
      body: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64'),
    });
  });
});

describe(`${SOURCES.apigwProxy}: output format (conformance)`, () => {
  it('merges headers and multiValueHeaders; a value given in both appears once', async () => {
    reply = () => ({
      statusCode: 200,
      headers: { 'X-One': 'a', 'X-Both': 'same' },
      multiValueHeaders: { 'X-Both': ['same'], 'X-Many': ['1', '2'] },
      body: 'ok',
    });
    const { response } = await call('/testStage/hello');
    expect(response.headers.get('x-one')).toBe('a');
    expect(response.headers.get('x-both')).toBe('same');
    expect(response.headers.get('x-many')).toBe('1, 2');
  });

  it('decodes a base64 body when its content type is a binary media type', async () => {
    reply = () => ({
      statusCode: 200,
      headers: { 'Content-Type': 'image/png' },
      body: Buffer.from('PNG!').toString('base64'),
      isBase64Encoded: true,
    });
    const { response, text } = await call('/testStage/image');
    expect(response.status).toBe(200);
    expect(text).toBe('PNG!');
  });

  it('passes a base64 body through as text when its type is not a binary media type', async () => {
    const encoded = Buffer.from('{"a":1}').toString('base64');
    reply = () => ({
      statusCode: 200,
      headers: { 'Content-Type': 'application/json' },
      body: encoded,
      isBase64Encoded: true,
    });
    const { text } = await call('/testStage/json');
    expect(text).toBe(encoded);
  });

  it.each([
    ['no statusCode', { body: 'x' }],
    ['a statusCode that is no HTTP status', { statusCode: 'teapot' }],
    ['a body that is not a string', { statusCode: 200, body: { a: 1 } }],
  ])('answers 502 for an output of another format: %s', async (_, output) => {
    reply = () => output;
    const { response, text } = await call('/testStage/hello');
    expect(response.status).toBe(502);
    expect(JSON.parse(text)).toEqual({ message: 'Internal server error' });
  });
});

describe(`${SOURCES.apigwErrors} (conformance)`, () => {
  const strict = new LocalApiGateway({
    invoke,
    restApiId: 'abc',
    stage: 'v1',
    region: 'us-east-1',
    accountId: '1',
  });
  strict.addMethod({
    resourcePath: '/health',
    httpMethod: 'GET',
    authorizationType: 'NONE',
    functionArn: 'f',
  });
  let strictBase: string;
  let closeStrict: () => Promise<void>;
  beforeAll(async () => {
    ({ base: strictBase, close: closeStrict } = await serve(strict));
  });
  afterAll(() => closeStrict());

  it.each([
    ['an unknown resource', 'GET', '/v1/nope'],
    ['a method the resource does not have', 'DELETE', '/v1/health'],
  ])('answers %s with 403 Missing Authentication Token', async (_, method, path) => {
    const response = await fetch(`${strictBase}${path}`, { method });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('answers 504 Endpoint request timed out when the integration outlasts the timeout (29 s on AWS)', async () => {
    const slow = new LocalApiGateway({
      invoke: () =>
        new Promise((resolve) =>
          setTimeout(() => resolve({ ok: true, payload: { statusCode: 200 } }), 2_000),
        ),
      restApiId: 'abc',
      stage: 'v1',
      region: 'us-east-1',
      accountId: '1',
      integrationTimeoutMs: 50,
    });
    slow.addMethod({ resourcePath: '/slow', httpMethod: 'GET', authorizationType: 'NONE', functionArn: 'f' });
    const served = await serve(slow);
    try {
      const response = await fetch(`${served.base}/v1/slow`);
      expect(response.status).toBe(504);
      expect(await response.json()).toEqual({ message: 'Endpoint request timed out' });
    } finally {
      await served.close();
    }
  });

  it('answers a path outside the stage with 403 Forbidden', async () => {
    reply = () => ({ statusCode: 200, body: 'ok' });
    expect((await fetch(`${strictBase}/v1/health`)).status).toBe(200);
    const response = await fetch(`${strictBase}/health`);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });
});
