import type { LocalApiGateway } from '../../apigateway/gateway.ts';
import type { CfnResource, CfnTemplate } from '../assembly.ts';
import type { DeployEnvironment, Deployment } from '../deploy.ts';
import type { ResourceValues } from '../intrinsics.ts';

/** CloudFormation properties are free-form JSON, checked by CloudFormation's schema, not by us. */
// biome-ignore lint/suspicious/noExplicitAny: template properties are untyped JSON
export type Json = any;
export type Props = Record<string, Json>;

/** What the resources of one stack share while it deploys (API Gateway resources find their API here). */
export interface StackScope {
  stackName: string;
  template: CfnTemplate;
  /** REST APIs of this stack by id, and API Gateway resource ids → their paths. */
  apis: Map<string, LocalApiGateway>;
  apiPaths: Map<string, string>;
}

/** One resource to create (or update) locally, its properties already resolved. */
export interface ProviderRequest {
  logicalId: string;
  resource: CfnResource;
  props: Props;
  env: DeployEnvironment;
  stack: StackScope;
  deployment: Deployment;
  /** `<stack>-<logicalId>`, cut to `max` characters: the physical name CloudFormation would generate. */
  name(max?: number): string;
  /** `arn:<partition>:<service>:<region>:<account>:<rest>` */
  arn(service: string, rest: string): string;
}

/**
 * Creates one CloudFormation resource type on the local engines and returns what `Ref` and `Fn::GetAtt` give
 * for it. A provider is idempotent: it is called on every start, with the resource possibly already there.
 *
 * @example
 * const bucket: Provider = async ({ props, env }) => {
 *   await env.s3.send(new CreateBucketCommand({ Bucket: props.BucketName }));
 *   return { ref: props.BucketName, attributes: { Arn: `arn:aws:s3:::${props.BucketName}` } };
 * };
 */
export type Provider = (request: ProviderRequest) => Promise<ResourceValues> | ResourceValues;
