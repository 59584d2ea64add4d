import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../../local/cloud/assembly.ts';
import { deployStacks } from '../../local/cloud/deploy.ts';
import { LocalEventBridge } from '../../local/eventbridge/bus.ts';
import type { LambdaRuntime } from '../../local/lambda/runtime.ts';

/**
 * The local gateway answers CORS preflights and its own errors the way API Gateway does for what CDK
 * synthesizes: a MOCK integration whose integration response maps static `'…'` values onto
 * `method.response.header.*` ("Enabling CORS for a REST API resource"), and gateway responses whose
 * `gatewayresponse.header.*` apply to errors of their type, `DEFAULT_4XX` to any other 4xx
 * ("Setting up gateway responses to customize error responses", API Gateway developer guide).
 */
const ORIGIN = 'http://127.0.0.1:3001';

function template(): CfnTemplate {
  const stack = new Stack(new App(), 'Cors');
  const api = new apigw.RestApi(stack, 'Api', { deployOptions: { stageName: 'v1' } });
  const things = api.root.addResource('things');
  things.addMethod('GET', new apigw.MockIntegration({ integrationResponses: [{ statusCode: '200' }] }), {
    methodResponses: [{ statusCode: '200' }],
  });
  things.addCorsPreflight({
    allowOrigins: [ORIGIN],
    allowHeaders: ['Content-Type', 'Authorization', 'If-Match'],
    allowMethods: ['GET', 'PUT'],
    maxAge: Duration.hours(1),
  });
  api.addGatewayResponse('Default4xx', {
    type: apigw.ResponseType.DEFAULT_4XX,
    responseHeaders: { 'Access-Control-Allow-Origin': `'${ORIGIN}'` },
  });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

describe('local API gateway: CORS as API Gateway configures it', () => {
  let url: string;
  let close: () => void;
  const warnings: string[] = [];

  beforeAll(async () => {
    const deployment = await deployStacks([{ stackName: 'Cors', dependencies: [], template: template() }], {
      region: 'us-east-1',
      accountId: '000000000000',
      assemblyDir: '/tmp/cdk.out',
      dynamodb: {} as DynamoDBClient,
      s3: {} as S3Client,
      runtime: { add: () => undefined, get: () => undefined, list: () => [] } as unknown as LambdaRuntime,
      bus: new LocalEventBridge({ invoke: async () => {}, region: 'us-east-1', accountId: '000000000000' }),
      parameters: {},
      state: { customResources: {} },
      runCustomResource: async () => ({ Status: 'SUCCESS' }),
      warn: (line) => warnings.push(line),
    });
    const gateway = deployment.apis[0];
    if (!gateway) throw new Error('no API deployed');
    const server = createServer((req, res) => void gateway.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  }, 120_000); // a CDK synth, slow on a busy machine
  afterAll(() => close?.());

  it('answers a preflight with the static headers of its MOCK integration response', async () => {
    const response = await fetch(`${url}/v1/things`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('access-control-allow-headers')).toBe('Content-Type,Authorization,If-Match');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,PUT');
    expect(response.headers.get('access-control-max-age')).toBe('3600');
    expect(response.headers.get('vary')).toBe('Origin');
  });

  it("adds DEFAULT_4XX's headers to the gateway's own errors", async () => {
    const unknown = await fetch(`${url}/v1/nothing-here`, { headers: { origin: ORIGIN } });
    expect(unknown.status).toBe(403); // API Gateway: Missing Authentication Token
    expect(unknown.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const wrongMethod = await fetch(`${url}/v1/things`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(403);
    expect(wrongMethod.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });

  it('answers other MOCK methods as configured, and takes gateway responses without a warning', async () => {
    const response = await fetch(`${url}/v1/things`);
    expect(response.status).toBe(200);
    expect(warnings.filter((w) => w.includes('GatewayResponse'))).toEqual([]);
  });
});
