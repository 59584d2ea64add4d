/**
 * The registry of resource providers: one module per CloudFormation type (or family of types), looked up by
 * the template's `Type`. To run a new type locally, write a {@link Provider} and add it here; a type that is
 * neither here nor inert deploys as inert with one warning.
 */
import {
  apiGatewayAuthorizer,
  apiGatewayGatewayResponse,
  apiGatewayMethod,
  apiGatewayResource,
  apiGatewayRestApi,
} from './apigateway.ts';
import { customResource } from './custom-resource.ts';
import { dynamodbTable } from './dynamodb-table.ts';
import { eventsEventBus, eventsRule } from './events.ts';
import { INERT_TYPES, inert } from './inert.ts';
import { lambdaFunction } from './lambda-function.ts';
import { s3Bucket } from './s3-bucket.ts';
import { stepFunctionsStateMachine } from './stepfunctions-state-machine.ts';
import type { Provider } from './types.ts';

export type { Provider, ProviderRequest, StackScope } from './types.ts';

const providers = new Map<string, Provider>([
  ['AWS::DynamoDB::Table', dynamodbTable],
  ['AWS::DynamoDB::GlobalTable', dynamodbTable],
  ['AWS::S3::Bucket', s3Bucket],
  ['AWS::Lambda::Function', lambdaFunction],
  ['AWS::ApiGateway::RestApi', apiGatewayRestApi],
  ['AWS::ApiGateway::Resource', apiGatewayResource],
  ['AWS::ApiGateway::Authorizer', apiGatewayAuthorizer],
  ['AWS::ApiGateway::Method', apiGatewayMethod],
  ['AWS::ApiGateway::GatewayResponse', apiGatewayGatewayResponse],
  ['AWS::Events::EventBus', eventsEventBus],
  ['AWS::Events::Rule', eventsRule],
  ['AWS::StepFunctions::StateMachine', stepFunctionsStateMachine],
  ['AWS::CloudFormation::CustomResource', customResource],
  ...INERT_TYPES.map((type): [string, Provider] => [type, inert]),
]);

/**
 * The provider for a resource type: `{ provider, supported: true }`, or the inert one with `supported: false`
 * for a type the local cloud does not know.
 */
export function providerFor(type: string): { provider: Provider; supported: boolean } {
  const provider = providers.get(type) ?? (type.startsWith('Custom::') ? customResource : undefined);
  return provider ? { provider, supported: true } : { provider: inert, supported: false };
}

/** The resource types the local cloud creates or accepts as inert. */
export function supportedTypes(): string[] {
  return [...providers.keys()].sort();
}
