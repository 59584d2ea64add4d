import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LocalApiGateway } from '../apigateway/gateway.ts';
import type { LocalEventBridge } from '../eventbridge/bus.ts';
import type { LambdaRuntime } from '../lambda/runtime.ts';
import type { LocalStepFunctions } from '../stepfunctions/service.ts';
import type { CfnResource, StackArtifact } from './assembly.ts';
import {
  dependenciesOf,
  evaluateConditions,
  parameterValue,
  partitionOf,
  type ResolveContext,
  resolve,
  stackIdOf,
} from './intrinsics.ts';
import { providerFor, type StackScope } from './providers/index.ts';
import type { Props } from './providers/types.ts';

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
    {
      propertiesHash: string;
      physicalId: string;
      data: Record<string, unknown>;
      /** The properties last sent, for the next Update's `OldResourceProperties`. */
      properties?: Record<string, unknown>;
    }
  >;
  /** Keys of the state machine definitions that passed validation (`validationKey`), newest first. */
  validatedStateMachines?: string[];
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
  /** Receives the log lines of what the deploy creates (e.g. the API gateway's request lines). */
  log?: (entry: Record<string, unknown>) => void;
}

export interface Deployment {
  apis: LocalApiGateway[];
  outputs: Record<string, Record<string, unknown>>;
  /** Scheduled rules, runnable on demand. */
  schedules: string[];
  resourceCount: number;
}

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
    let value: unknown;
    if (name in env.parameters) value = env.parameters[name];
    else if (spec.Type.startsWith('AWS::SSM::Parameter'))
      value = name === 'BootstrapVersion' ? '30' : spec.Default;
    else if (spec.Default !== undefined) value = spec.Default;
    else
      throw new Error(
        `${stackName}: parameter ${name} has no value (the local cloud supplies: ${Object.keys(env.parameters).join(', ')})`,
      );
    parameters[name] = value === undefined ? value : parameterValue(spec.Type, value);
  }
  const base = {
    stackName,
    stackId: stackIdOf(env.region, env.accountId, stackName),
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
  const scope: StackScope = { stackName, template, apis: new Map(), apiPaths: new Map() };
  const { partition } = partitionOf(env.region);

  const deployOne = async (logicalId: string, resource: CfnResource) => {
    const props = resolve(resource.Properties ?? {}, ctx, `${stackName}.${logicalId}.Properties`) as Props;
    const { provider, supported } = providerFor(resource.Type);
    if (!supported) {
      const where = unsupported.get(resource.Type) ?? [];
      where.push(`${stackName}/${logicalId}`);
      unsupported.set(resource.Type, where);
    }
    return provider({
      logicalId,
      resource,
      props,
      env,
      stack: scope,
      deployment,
      name: (max = 64) => `${stackName}-${logicalId}`.slice(0, max),
      arn: (service, rest) => `arn:${partition}:${service}:${env.region}:${env.accountId}:${rest}`,
    });
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
