import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { StackArtifact } from '../../local/cloud/assembly.ts';
import { type DeployEnvironment, deployStacks } from '../../local/cloud/deploy.ts';
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
});
