import { createHash } from 'node:crypto';
import * as path from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { LocalApiGateway } from '../apigateway/gateway.ts';
import type { LocalEventBridge, Rule } from '../eventbridge/bus.ts';
import type { LambdaRuntime } from '../lambda/runtime.ts';
import type { LocalStepFunctions } from '../stepfunctions/service.ts';
import type { CfnResource, StackArtifact } from './assembly.ts';
import {
  dependenciesOf,
  evaluateConditions,
  type ResolveContext,
  type ResourceValues,
  resolve,
} from './intrinsics.ts';

/** A custom resource's answer, as posted to its ResponseURL. */
export interface CustomResourceResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId?: string;
  Data?: Record<string, unknown>;
}

/** What the last deploy left of each custom resource, so unchanged ones are not run again. */
export interface DeployState {
  customResources: Record<
    string,
    { propertiesHash: string; physicalId: string; data: Record<string, unknown> }
  >;
}

export interface DeployEnvironment {
  region: string;
  accountId: string;
  /** Directory of the cloud assembly (asset paths are relative to it). */
  assemblyDir: string;
  dynamodb: DynamoDBClient;
  s3: S3Client;
  runtime: LambdaRuntime;
  bus: LocalEventBridge;
  /** Step Functions: state machines run locally (the definition from the template, unchanged). */
  stepFunctions?: LocalStepFunctions;
  /** Values for template parameters (by name), e.g. DatabaseUrl. */
  parameters: Record<string, string>;
  state: DeployState;
  /** Sends a CloudFormation custom-resource request to a function and waits for its response. */
  runCustomResource: (
    functionArn: string,
    request: Record<string, unknown>,
  ) => Promise<CustomResourceResponse>;
  warn: (line: string) => void;
}

export interface Deployment {
  apis: LocalApiGateway[];
  outputs: Record<string, Record<string, unknown>>;
  /** Scheduled rules, runnable on demand. */
  schedules: string[];
  resourceCount: number;
}

/** Resource types that deploy to nothing locally, on purpose: IAM is not enforced, logs go to the console, … */
const INERT = new Set([
  'AWS::CDK::Metadata',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::Logs::LogGroup',
  'AWS::Lambda::Permission',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage',
  'AWS::S3::BucketPolicy',
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SNS::Subscription',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::Events::Archive',
  // The lake's catalog and query engine on AWS; locally the ETL queries Parquet with embedded DuckDB.
  'AWS::Glue::Database',
  'AWS::Glue::Table',
  'AWS::Athena::WorkGroup',
  'AWS::Athena::NamedQuery',
]);

/** CloudFormation properties are free-form JSON, checked by CloudFormation's schema, not by us. */
// biome-ignore lint/suspicious/noExplicitAny: template properties are untyped JSON
type Json = any;
type Props = Record<string, Json>;

const LAMBDA_URI = /functions\/(arn:[^/]+)\/invocations$/;

/**
 * Deploys the stacks of a cloud assembly onto the local emulators, the way CloudFormation would:
 * parameters, conditions, resources in dependency order (independent ones in parallel), then
 * outputs and exports for the stacks that import them.
 */
export async function deployStacks(stacks: StackArtifact[], env: DeployEnvironment): Promise<Deployment> {
  const exports = new Map<string, unknown>();
  const deployment: Deployment = { apis: [], outputs: {}, schedules: [], resourceCount: 0 };
  const unsupported = new Map<string, string[]>();
  for (const stack of stacks) {
    await deployStack(stack, env, exports, deployment, unsupported);
  }
  for (const [type, where] of unsupported) {
    env.warn(`${type} is not supported by the local cloud; skipped ${where.join(', ')}`);
  }
  return deployment;
}

async function deployStack(
  stack: StackArtifact,
  env: DeployEnvironment,
  exports: Map<string, unknown>,
  deployment: Deployment,
  unsupported: Map<string, string[]>,
): Promise<void> {
  const { template, stackName } = stack;
  const parameters: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(template.Parameters ?? {})) {
    if (name in env.parameters) parameters[name] = env.parameters[name];
    else if (spec.Type.startsWith('AWS::SSM::Parameter'))
      parameters[name] = name === 'BootstrapVersion' ? '30' : spec.Default;
    else if (spec.Default !== undefined) parameters[name] = spec.Default;
    else
      throw new Error(
        `${stackName}: parameter ${name} has no value (the local cloud supplies: ${Object.keys(env.parameters).join(', ')})`,
      );
  }
  const base = {
    stackName,
    region: env.region,
    accountId: env.accountId,
    parameters,
    exports,
    mappings: template.Mappings,
  };
  const ctx: ResolveContext = { ...base, resources: new Map(), conditions: {} };
  ctx.conditions = evaluateConditions(template.Conditions, { ...base, resources: ctx.resources });

  const resources = Object.entries(template.Resources).filter(
    ([, r]) => !r.Condition || ctx.conditions[r.Condition],
  );
  const apis = new Map<string, LocalApiGateway>();
  const apiPaths = new Map<string, string>(); // API Gateway resource id → path
  const stageOf = (apiLogicalId: string) =>
    Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::ApiGateway::Stage' &&
        (r.Properties?.RestApiId as { Ref?: string })?.Ref === apiLogicalId,
    )?.Properties?.StageName as string | undefined;

  const deployOne = async (logicalId: string, resource: CfnResource): Promise<ResourceValues> => {
    const props = resolve(resource.Properties ?? {}, ctx, `${stackName}.${logicalId}.Properties`) as Props;
    const name = (max = 64) => `${stackName}-${logicalId}`.slice(0, max);
    const arn = (service: string, rest: string) =>
      `arn:aws:${service}:${env.region}:${env.accountId}:${rest}`;
    const type = resource.Type;

    if (type === 'AWS::DynamoDB::Table' || type === 'AWS::DynamoDB::GlobalTable') {
      const tableName = (props.TableName as string | undefined) ?? name(255);
      const streamArn = await ensureTable(env, tableName, props);
      return {
        ref: tableName,
        attributes: { Arn: arn('dynamodb', `table/${tableName}`), StreamArn: streamArn },
      };
    }
    if (type === 'AWS::S3::Bucket') {
      const bucket = (props.BucketName as string | undefined) ?? bucketName(stackName, logicalId);
      await ensureBucket(env.s3, bucket);
      return {
        ref: bucket,
        attributes: {
          Arn: `arn:aws:s3:::${bucket}`,
          DomainName: `${bucket}.s3.amazonaws.com`,
          RegionalDomainName: `${bucket}.s3.${env.region}.amazonaws.com`,
        },
      };
    }
    if (type === 'AWS::Lambda::Function') {
      const functionName = (props.FunctionName as string | undefined) ?? name();
      const functionArn = arn('lambda', `function:${functionName}`);
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string')
        throw new Error(`${stackName}.${logicalId}: no bundled asset (aws:asset:path)`);
      env.runtime.add({
        name: functionName,
        arn: functionArn,
        codeDir: path.resolve(env.assemblyDir, assetPath),
        handler: String(props.Handler ?? 'index.handler'),
        runtime: String(props.Runtime ?? 'nodejs24.x'),
        environment: stringMap(props.Environment?.Variables),
        timeoutSeconds: Number(props.Timeout ?? 3),
        memoryMB: Number(props.MemorySize ?? 128),
        ...(props.ReservedConcurrentExecutions
          ? { maxConcurrency: Number(props.ReservedConcurrentExecutions) }
          : {}),
      });
      return { ref: functionName, attributes: { Arn: functionArn } };
    }
    if (type === 'AWS::ApiGateway::RestApi') {
      const restApiId = shortId(`${stackName}/${logicalId}`);
      const gateway = new LocalApiGateway({
        invoke: (functionArn, event) => invoke(env, functionArn, event),
        restApiId,
        stage: stageOf(logicalId) ?? 'prod',
        region: env.region,
        accountId: env.accountId,
        binaryMediaTypes: (props.BinaryMediaTypes as string[] | undefined) ?? [],
      });
      apis.set(restApiId, gateway);
      deployment.apis.push(gateway);
      apiPaths.set(`${restApiId}-root`, '');
      return { ref: restApiId, attributes: { RootResourceId: `${restApiId}-root`, RestApiId: restApiId } };
    }
    if (type === 'AWS::ApiGateway::Resource') {
      const id = `${props.RestApiId}-${logicalId}`;
      const parent = apiPaths.get(String(props.ParentId));
      if (parent === undefined)
        throw new Error(`${stackName}.${logicalId}: unknown parent resource ${props.ParentId}`);
      apiPaths.set(id, `${parent}/${props.PathPart}`);
      return { ref: id, attributes: { ResourceId: id } };
    }
    if (type === 'AWS::ApiGateway::Authorizer') {
      const gateway = apis.get(String(props.RestApiId));
      const id = `${props.RestApiId}-${logicalId}`;
      const functionArn = LAMBDA_URI.exec(String(props.AuthorizerUri ?? ''))?.[1];
      if (props.Type === 'COGNITO_USER_POOLS') {
        env.warn(
          `${stackName}.${logicalId}: Cognito authorizers need target=aws; requests to its routes will get 401`,
        );
      }
      gateway?.addAuthorizer({
        id,
        type: props.Type,
        functionArn,
        identitySource: String(props.IdentitySource ?? 'method.request.header.Authorization'),
        resultTtlSeconds: Number(props.AuthorizerResultTtlInSeconds ?? 300),
      });
      return { ref: id, attributes: { AuthorizerId: id } };
    }
    if (type === 'AWS::ApiGateway::Method') {
      const gateway = apis.get(String(props.RestApiId));
      const resourcePath = apiPaths.get(String(props.ResourceId));
      const integration = props.Integration ?? {};
      const functionArn = LAMBDA_URI.exec(String(integration.Uri ?? ''))?.[1];
      if (!gateway || resourcePath === undefined)
        throw new Error(`${stackName}.${logicalId}: unknown API or resource`);
      if (integration.Type !== 'AWS_PROXY' || !functionArn) {
        env.warn(
          `${stackName}.${logicalId}: only Lambda proxy integrations run locally; ${props.HttpMethod} ${resourcePath || '/'} skipped`,
        );
      } else {
        gateway.addMethod({
          resourcePath: resourcePath || '/',
          httpMethod: String(props.HttpMethod),
          authorizationType: String(props.AuthorizationType ?? 'NONE'),
          authorizerId: props.AuthorizerId as string | undefined,
          functionArn,
        });
      }
      return { ref: `${props.RestApiId}-${logicalId}`, attributes: {} };
    }
    if (type === 'AWS::Events::EventBus') {
      const busName = String(props.Name ?? name(256));
      env.bus.addBus(busName);
      return { ref: busName, attributes: { Arn: arn('events', `event-bus/${busName}`), Name: busName } };
    }
    if (type === 'AWS::Events::Rule') {
      const ruleName = String(props.Name ?? name());
      const rule: Rule = {
        name: ruleName,
        eventBusName: String(props.EventBusName ?? 'default'),
        eventPattern: props.EventPattern,
        scheduleExpression: props.ScheduleExpression,
        state: props.State ?? 'ENABLED',
        targets: ((props.Targets as Json[]) ?? []).map((t: Json) => ({
          id: String(t.Id),
          arn: String(t.Arn),
          input: t.Input,
          inputPath: t.InputPath,
          inputTransformer: t.InputTransformer
            ? {
                inputPathsMap: t.InputTransformer.InputPathsMap,
                inputTemplate: t.InputTransformer.InputTemplate,
              }
            : undefined,
          deadLetterArn: t.DeadLetterConfig?.Arn,
          maximumRetryAttempts: t.RetryPolicy?.MaximumRetryAttempts,
          maximumEventAgeSeconds: t.RetryPolicy?.MaximumEventAgeInSeconds,
        })),
      };
      env.bus.putRule(rule);
      if (rule.scheduleExpression) deployment.schedules.push(ruleName);
      return { ref: ruleName, attributes: { Arn: arn('events', `rule/${ruleName}`) } };
    }
    if (type === 'AWS::StepFunctions::StateMachine' && env.stepFunctions) {
      const machineName = String(props.StateMachineName ?? name(80));
      const definition =
        props.DefinitionString ?? (props.Definition ? JSON.stringify(props.Definition) : undefined);
      if (typeof definition !== 'string') throw new Error('no DefinitionString or Definition');
      const machineArn = env.stepFunctions.addStateMachine(machineName, definition);
      return { ref: machineArn, attributes: { Arn: machineArn, Name: machineName } };
    }
    if (type === 'AWS::CloudFormation::CustomResource' || type.startsWith('Custom::')) {
      return runCustomResource(env, stackName, logicalId, type, props);
    }
    if (!INERT.has(type)) {
      const where = unsupported.get(type) ?? [];
      where.push(`${stackName}/${logicalId}`);
      unsupported.set(type, where);
    }
    return inertValues(type, props, name(), arn);
  };

  // Deploy level by level: everything whose dependencies are deployed goes in parallel.
  const ids = new Set(resources.map(([id]) => id));
  const deps = new Map(
    resources.map(([id, r]) => [
      id,
      new Set(
        [...dependenciesOf(r.Properties), ...[r.DependsOn ?? []].flat()].filter(
          (d) => ids.has(d) && d !== id,
        ),
      ),
    ]),
  );
  const done = new Set<string>();
  while (done.size < resources.length) {
    const ready = resources.filter(
      ([id]) => !done.has(id) && [...(deps.get(id) ?? [])].every((d) => done.has(d)),
    );
    if (ready.length === 0) throw new Error(`${stackName}: resources depend on each other in a cycle`);
    await Promise.all(
      ready.map(async ([id, resource]) => {
        try {
          ctx.resources.set(id, await deployOne(id, resource));
        } catch (error) {
          throw new Error(`${stackName}/${id} (${resource.Type}): ${(error as Error).message}`, {
            cause: error,
          });
        }
        done.add(id);
      }),
    );
  }
  deployment.resourceCount += resources.length;

  const outputs: Record<string, unknown> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition && !ctx.conditions[output.Condition]) continue;
    const value = resolve(output.Value, ctx, `${stackName}.Outputs.${name}`);
    outputs[name] = value;
    if (output.Export) exports.set(String(resolve(output.Export.Name, ctx)), value);
  }
  deployment.outputs[stackName] = outputs;
}

async function invoke(env: DeployEnvironment, functionArn: string, event: unknown) {
  const fn = env.runtime.get(functionArn);
  if (!fn)
    return {
      ok: false as const,
      error: { errorType: 'ResourceNotFoundException', errorMessage: `No function ${functionArn}` },
    };
  return fn.invoke(event);
}

async function runCustomResource(
  env: DeployEnvironment,
  stackName: string,
  logicalId: string,
  type: string,
  props: Record<string, unknown>,
): Promise<ResourceValues> {
  const { ServiceToken, ...properties } = props;
  const key = `${stackName}/${logicalId}`;
  const propertiesHash = createHash('sha256').update(JSON.stringify(props)).digest('hex');
  const previous = env.state.customResources[key];
  if (previous?.propertiesHash === propertiesHash) {
    return { ref: previous.physicalId, attributes: previous.data };
  }
  if (!env.runtime.get(String(ServiceToken))) {
    throw new Error(`custom resource service token ${ServiceToken} is not a deployed function`);
  }
  const response = await env.runCustomResource(String(ServiceToken), {
    RequestType: previous ? 'Update' : 'Create',
    ServiceToken,
    StackId: `arn:aws:cloudformation:${env.region}:${env.accountId}:stack/${stackName}/local`,
    RequestId: crypto.randomUUID(),
    ResourceType: type,
    LogicalResourceId: logicalId,
    ...(previous ? { PhysicalResourceId: previous.physicalId, OldResourceProperties: {} } : {}),
    ResourceProperties: { ServiceToken, ...properties },
  });
  if (response.Status !== 'SUCCESS')
    throw new Error(`custom resource failed: ${response.Reason ?? 'no reason given'}`);
  const physicalId = response.PhysicalResourceId ?? `${key}-local`;
  const data = response.Data ?? {};
  env.state.customResources[key] = { propertiesHash, physicalId, data };
  return { ref: physicalId, attributes: data };
}

function inertValues(
  type: string,
  props: Props,
  name: string,
  arn: (service: string, rest: string) => string,
): ResourceValues {
  switch (type) {
    case 'AWS::IAM::Role':
      return { ref: name, attributes: { Arn: `arn:aws:iam::000000000000:role/${name}`, RoleId: name } };
    case 'AWS::Logs::LogGroup': {
      const group = String(props.LogGroupName ?? `/local/${name}`);
      return { ref: group, attributes: { Arn: arn('logs', `log-group:${group}:*`) } };
    }
    case 'AWS::SQS::Queue': {
      const queue = String(props.QueueName ?? name.slice(0, 80));
      return {
        ref: `http://sqs.local/000000000000/${queue}`,
        attributes: {
          Arn: arn('sqs', queue),
          QueueName: queue,
          QueueUrl: `http://sqs.local/000000000000/${queue}`,
        },
      };
    }
    case 'AWS::SNS::Topic': {
      const topicArn = arn('sns', String(props.TopicName ?? name));
      return {
        ref: topicArn,
        attributes: { TopicArn: topicArn, TopicName: String(props.TopicName ?? name) },
      };
    }
    case 'AWS::ApiGateway::Stage':
      return { ref: String(props.StageName), attributes: {} };
    default:
      return {
        ref: name,
        attributes: new Proxy({} as Record<string, unknown>, {
          has: () => true,
          get: (_, attr) => (attr === 'Arn' ? arn('local', name) : `${name}.${String(attr)}`),
        }),
      };
  }
}

/** CloudFormation-like bucket name: lowercase, ≤ 63 characters, stable for the same stack and id. */
function bucketName(stackName: string, logicalId: string): string {
  const base = `${stackName}-${logicalId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return `${base.slice(0, 50)}-${shortId(base)}`.replace(/-+/g, '-');
}

function shortId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 10);
}

function stringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
  );
}

/**
 * Creates the table if it is missing, or re-creates it (local data only) when its keys or indexes
 * changed; sets TTL. Returns the stream ARN when streams are on.
 */
async function ensureTable(
  env: DeployEnvironment,
  tableName: string,
  props: Props,
): Promise<string | undefined> {
  const keySchema = props.KeySchema;
  const gsis = (props.GlobalSecondaryIndexes as Json[] | undefined)?.map((g) => ({
    IndexName: g.IndexName,
    KeySchema: g.KeySchema,
    Projection: g.Projection ?? { ProjectionType: 'ALL' },
  }));
  const lsis = (props.LocalSecondaryIndexes as Json[] | undefined)?.map((l) => ({
    IndexName: l.IndexName,
    KeySchema: l.KeySchema,
    Projection: l.Projection ?? { ProjectionType: 'ALL' },
  }));
  const stream = props.StreamSpecification?.StreamViewType as string | undefined;
  const wanted = JSON.stringify({ keySchema, gsis: gsis?.map((g) => [g.IndexName, g.KeySchema]) ?? [] });
  let existing: DescribeTableCommandOutput | undefined;
  try {
    existing = await env.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const table = existing?.Table;
  if (table) {
    const have = JSON.stringify({
      keySchema: table.KeySchema,
      gsis: (table.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, g.KeySchema]),
    });
    if (have === wanted) return table.LatestStreamArn;
    env.warn(`table ${tableName}: keys or indexes changed, re-creating it (local data in it is dropped)`);
    await env.dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
  }
  const input: CreateTableCommandInput = {
    TableName: tableName,
    KeySchema: keySchema,
    AttributeDefinitions: props.AttributeDefinitions,
    BillingMode: 'PAY_PER_REQUEST',
    ...(gsis?.length ? { GlobalSecondaryIndexes: gsis } : {}),
    ...(lsis?.length ? { LocalSecondaryIndexes: lsis } : {}),
    ...(stream
      ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream as 'NEW_AND_OLD_IMAGES' } }
      : {}),
  };
  const created = await env.dynamodb.send(new CreateTableCommand(input));
  const ttl = props.TimeToLiveSpecification;
  if (ttl?.Enabled) {
    await env.dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
      }),
    );
  }
  return created.TableDescription?.LatestStreamArn;
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}
