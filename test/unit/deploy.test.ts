import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { StackArtifact } from '../../local/cloud/assembly.ts';
import { type DeployEnvironment, deployStacks } from '../../local/cloud/deploy.ts';
import { providerFor } from '../../local/cloud/providers/index.ts';
import { LocalEventBridge } from '../../local/eventbridge/bus.ts';
import type { FunctionDefinition, LambdaRuntime } from '../../local/lambda/runtime.ts';

/** Two stacks: one exports a bus name, the other imports it into a function and a rule. */
const stacks: StackArtifact[] = [
  {
    stackName: 'Shop-dev-Events',
    dependencies: [],
    template: {
      Resources: {
        Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'shop-dev' } },
        Stream: { Type: 'AWS::Kinesis::Stream', Properties: { ShardCount: 1 } },
        OtherStream: { Type: 'AWS::Kinesis::Stream', Properties: { ShardCount: 1 } },
      },
      Outputs: {
        BusName: { Value: { Ref: 'Bus' }, Export: { Name: 'Shop-dev-Events:BusName' } },
      },
    },
  },
  {
    stackName: 'Shop-dev-Services',
    dependencies: ['Shop-dev-Events'],
    template: {
      Parameters: {
        DatabaseUrl: { Type: 'String', NoEcho: true },
        BootstrapVersion: {
          Type: 'AWS::SSM::Parameter::Value<String>',
          Default: '/cdk-bootstrap/hnb659fds/version',
        },
      },
      Resources: {
        Consumer: {
          Type: 'AWS::Lambda::Function',
          Metadata: { 'aws:asset:path': 'asset.abc' },
          Properties: {
            Handler: 'index.handler',
            Timeout: 5,
            MemorySize: 256,
            Environment: {
              Variables: {
                BUS: { 'Fn::ImportValue': 'Shop-dev-Events:BusName' },
                DATABASE_URL: { Ref: 'DatabaseUrl' },
              },
            },
          },
        },
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: {
            EventBusName: { 'Fn::ImportValue': 'Shop-dev-Events:BusName' },
            EventPattern: { source: ['shop.orders'] },
            Targets: [
              {
                Id: 'Target0',
                Arn: { 'Fn::GetAtt': ['Consumer', 'Arn'] },
                Input: { 'Fn::Sub': '{"from":"${AWS::StackName}","fn":"${Consumer}"}' },
                RetryPolicy: { MaximumRetryAttempts: 2 },
              },
            ],
          },
        },
      },
    },
  },
];

function environment(): { env: DeployEnvironment; added: FunctionDefinition[]; warnings: string[] } {
  const added: FunctionDefinition[] = [];
  const warnings: string[] = [];
  const runtime = {
    add: (definition: FunctionDefinition) => {
      added.push(definition);
      return definition;
    },
    get: () => undefined,
    list: () => [],
  } as unknown as LambdaRuntime;
  const bus = new LocalEventBridge({
    invoke: async () => {},
    region: 'us-east-1',
    accountId: '000000000000',
  });
  const env: DeployEnvironment = {
    region: 'us-east-1',
    accountId: '000000000000',
    assemblyDir: '/tmp/cdk.out',
    dynamodb: {} as DynamoDBClient,
    s3: {} as S3Client,
    runtime,
    bus,
    parameters: { DatabaseUrl: 'postgres://local' },
    state: { customResources: {} },
    runCustomResource: async () => ({ Status: 'SUCCESS' }),
    warn: (line) => warnings.push(line),
  };
  return { env, added, warnings };
}

describe('deployStacks', () => {
  it('resolves imports, parameters and attributes across stacks into function definitions', async () => {
    const { env, added } = environment();
    await deployStacks(stacks, env);
    expect(added).toEqual([
      {
        name: 'Shop-dev-Services-Consumer',
        arn: 'arn:aws:lambda:us-east-1:000000000000:function:Shop-dev-Services-Consumer',
        codeDir: '/tmp/cdk.out/asset.abc',
        handler: 'index.handler',
        runtime: 'nodejs24.x',
        timeoutSeconds: 5,
        memoryMB: 256,
        environment: {
          BUS: 'shop-dev',
          DATABASE_URL: 'postgres://local',
        },
      },
    ]);
  });

  it('registers rules on the bus with the target ARN and retry policy resolved', async () => {
    const { env } = environment();
    const deployment = await deployStacks(stacks, env);
    expect(env.bus.listRules()).toEqual([
      expect.objectContaining({
        name: 'Shop-dev-Services-Rule',
        eventBusName: 'shop-dev',
        eventPattern: { source: ['shop.orders'] },
        targets: [
          expect.objectContaining({
            id: 'Target0',
            arn: 'arn:aws:lambda:us-east-1:000000000000:function:Shop-dev-Services-Consumer',
            maximumRetryAttempts: 2,
            input: '{"from":"Shop-dev-Services","fn":"Shop-dev-Services-Consumer"}',
          }),
        ],
      }),
    ]);
    expect(deployment.outputs['Shop-dev-Events']).toEqual({ BusName: 'shop-dev' });
  });

  it('warns once per unsupported resource type, naming it, instead of failing', async () => {
    const { env, warnings } = environment();
    await deployStacks(stacks, env);
    expect(warnings).toEqual([
      'AWS::Kinesis::Stream is not supported by the local cloud; skipped Shop-dev-Events/Stream, Shop-dev-Events/OtherStream',
    ]);
  });

  it('refuses resources that depend on each other in a cycle', async () => {
    const { env } = environment();
    const cyclic: StackArtifact = {
      stackName: 'Cyclic',
      dependencies: [],
      template: {
        Resources: {
          A: { Type: 'AWS::Events::EventBus', Properties: { Name: { 'Fn::GetAtt': ['B', 'Name'] } } },
          B: { Type: 'AWS::Events::EventBus', DependsOn: 'A', Properties: { Name: 'b' } },
        },
      },
    };
    await expect(deployStacks([cyclic], env)).rejects.toThrow(
      'Cyclic: resources depend on each other in a cycle',
    );
  });

  it('names the parameter when a template needs a value nobody supplied', async () => {
    const { env } = environment();
    env.parameters = {};
    await expect(deployStacks(stacks, env)).rejects.toThrow(
      'Shop-dev-Services: parameter DatabaseUrl has no value',
    );
  });

  it('sends a custom resource Update the properties of the last deploy as OldResourceProperties', async () => {
    const { env } = environment();
    const token = 'arn:aws:lambda:us-east-1:000000000000:function:Migrate';
    env.runtime.get = ((arn: string) => (arn === token ? {} : undefined)) as LambdaRuntime['get'];
    const requests: Record<string, unknown>[] = [];
    env.runCustomResource = async (_arn, request) => {
      requests.push(request);
      return { Status: 'SUCCESS', PhysicalResourceId: 'migrations' };
    };
    const stack = (hash: string): StackArtifact => ({
      stackName: 'Shop-dev-Database',
      dependencies: [],
      template: {
        Resources: {
          Migrations: { Type: 'Custom::Migrations', Properties: { ServiceToken: token, Hash: hash } },
        },
      },
    });
    await deployStacks([stack('v1')], env);
    await deployStacks([stack('v1')], env); // unchanged: not sent again
    await deployStacks([stack('v2')], env);
    expect(requests.map((r) => r.RequestType)).toEqual(['Create', 'Update']);
    expect(requests[1]).toMatchObject({
      PhysicalResourceId: 'migrations',
      OldResourceProperties: { ServiceToken: token, Hash: 'v1' },
      ResourceProperties: { ServiceToken: token, Hash: 'v2' },
      StackId: expect.stringMatching(
        /^arn:aws:cloudformation:us-east-1:000000000000:stack\/Shop-dev-Database\/[0-9a-f-]{36}$/,
      ),
    });
  });

  it('lists the routes of a deployed REST API, under its stage', async () => {
    const { env } = environment();
    const fn = 'arn:aws:lambda:us-east-1:000000000000:function:Health';
    const uri = `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${fn}/invocations`;
    const deployment = await deployStacks(
      [
        {
          stackName: 'Api',
          dependencies: [],
          template: {
            Resources: {
              Api: { Type: 'AWS::ApiGateway::RestApi', Properties: { Name: 'shop' } },
              Stage: {
                Type: 'AWS::ApiGateway::Stage',
                Properties: { RestApiId: { Ref: 'Api' }, StageName: 'v1' },
              },
              Health: {
                Type: 'AWS::ApiGateway::Resource',
                Properties: {
                  RestApiId: { Ref: 'Api' },
                  ParentId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] },
                  PathPart: 'health',
                },
              },
              GetHealth: {
                Type: 'AWS::ApiGateway::Method',
                Properties: {
                  RestApiId: { Ref: 'Api' },
                  ResourceId: { Ref: 'Health' },
                  HttpMethod: 'GET',
                  AuthorizationType: 'NONE',
                  Integration: { Type: 'AWS_PROXY', Uri: uri },
                },
              },
            },
          },
        },
      ],
      env,
    );
    expect(deployment.apis[0]?.describeRoutes()).toEqual([
      { method: 'GET', path: '/health', stagePath: '/v1/health', authorizationType: 'NONE', functionArn: fn },
    ]);
  });
});

describe('providerFor (the registry of resource providers)', () => {
  it.each([
    ['AWS::DynamoDB::Table', true],
    ['AWS::Lambda::Function', true],
    ['Custom::Anything', true],
    ['AWS::IAM::Role', true],
    ['AWS::Kinesis::Stream', false],
  ])('%s → supported %s', (type, supported) => {
    expect(providerFor(type).supported).toBe(supported);
  });
});
