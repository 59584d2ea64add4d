/**
 * The API Gateway REST API types: `AWS::ApiGateway::RestApi` becomes a {@link LocalApiGateway},
 * `Resource`s give it paths, `Method`s (Lambda proxy integrations) routes, `Authorizer`s Lambda
 * authorizers. `Deployment`, `Stage` and `Account` are inert: the stage is read from the template.
 */
import { LocalApiGateway } from '../../apigateway/gateway.ts';
import type { DeployEnvironment } from '../deploy.ts';
import { partitionOf } from '../intrinsics.ts';
import { lambdaFromUri, shortId } from './ids.ts';
import type { Provider, StackScope } from './types.ts';

export const apiGatewayRestApi: Provider = ({ props, env, stack, deployment, logicalId }) => {
  const restApiId = shortId(`${stack.stackName}/${logicalId}`);
  const gateway = new LocalApiGateway({
    invoke: (functionArn, event, options) => invoke(env, functionArn, event, options),
    restApiId,
    stage: stageOf(stack, logicalId) ?? 'prod',
    region: env.region,
    accountId: env.accountId,
    urlSuffix: partitionOf(env.region).urlSuffix,
    binaryMediaTypes: (props.BinaryMediaTypes as string[] | undefined) ?? [],
    log: (entry) => env.log?.({ source: 'apigateway', ...entry }),
  });
  stack.apis.set(restApiId, gateway);
  deployment.apis.push(gateway);
  stack.apiPaths.set(`${restApiId}-root`, '');
  return { ref: restApiId, attributes: { RootResourceId: `${restApiId}-root`, RestApiId: restApiId } };
};

export const apiGatewayResource: Provider = ({ props, stack, logicalId }) => {
  const id = `${props.RestApiId}-${logicalId}`;
  const parent = stack.apiPaths.get(String(props.ParentId));
  if (parent === undefined) throw new Error(`unknown parent resource ${props.ParentId}`);
  stack.apiPaths.set(id, `${parent}/${props.PathPart}`);
  return { ref: id, attributes: { ResourceId: id } };
};

export const apiGatewayAuthorizer: Provider = ({ props, env, stack, logicalId }) => {
  const id = `${props.RestApiId}-${logicalId}`;
  if (props.Type === 'COGNITO_USER_POOLS') {
    env.warn(
      `${stack.stackName}.${logicalId}: Cognito authorizers need target=aws; requests to its routes will get 401`,
    );
  }
  stack.apis.get(String(props.RestApiId))?.addAuthorizer({
    id,
    type: props.Type,
    functionArn: lambdaFromUri(props.AuthorizerUri),
    identitySource: String(props.IdentitySource ?? 'method.request.header.Authorization'),
    resultTtlSeconds: Number(props.AuthorizerResultTtlInSeconds ?? 300),
  });
  return { ref: id, attributes: { AuthorizerId: id } };
};

export const apiGatewayMethod: Provider = ({ props, env, stack, logicalId }) => {
  const gateway = stack.apis.get(String(props.RestApiId));
  const resourcePath = stack.apiPaths.get(String(props.ResourceId));
  const integration = props.Integration ?? {};
  const functionArn = lambdaFromUri(integration.Uri);
  if (!gateway || resourcePath === undefined) throw new Error('unknown API or resource');
  if (integration.Type === 'MOCK') {
    gateway.addMethod({
      resourcePath: resourcePath || '/',
      httpMethod: String(props.HttpMethod),
      authorizationType: String(props.AuthorizationType ?? 'NONE'),
      functionArn: '',
      mock: mockResponse(integration, (warning) => env.warn(`${stack.stackName}.${logicalId}: ${warning}`)),
    });
  } else if (integration.Type !== 'AWS_PROXY' || !functionArn) {
    env.warn(
      `${stack.stackName}.${logicalId}: only Lambda proxy integrations run locally; ${props.HttpMethod} ${resourcePath || '/'} skipped`,
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
};

/** `AWS::ApiGateway::GatewayResponse`: headers (and status) of the errors the gateway answers itself. */
export const apiGatewayGatewayResponse: Provider = ({ props, stack, logicalId }) => {
  stack.apis.get(String(props.RestApiId))?.addGatewayResponse({
    type: String(props.ResponseType),
    ...(props.StatusCode ? { statusCode: Number(props.StatusCode) } : {}),
    headers: staticHeaders(props.ResponseParameters, 'gatewayresponse.header.'),
  });
  return { ref: `${props.RestApiId}-${logicalId}`, attributes: {} };
};

/**
 * The static values of header mappings (`'value'` in single quotes, as API Gateway writes literals);
 * mappings from the request or integration cannot be evaluated without a request and are left out.
 */
function staticHeaders(
  parameters: Record<string, unknown> | undefined,
  prefix: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(parameters ?? {})) {
    const literal = typeof value === 'string' ? /^'(.*)'$/s.exec(value)?.[1] : undefined;
    if (key.startsWith(prefix) && literal !== undefined)
      headers[key.slice(prefix.length).toLowerCase()] = literal;
  }
  return headers;
}

/**
 * A MOCK integration's answer: the status of its default integration response (the one without a
 * selection pattern) and its static header mappings. CORS preflights (`addCorsPreflight`) are such.
 */
function mockResponse(
  integration: Record<string, unknown>,
  warn: (message: string) => void,
): { statusCode: number; headers: Record<string, string> } {
  const responses = (integration.IntegrationResponses ?? []) as Record<string, unknown>[];
  const chosen = responses.find((r) => !r.SelectionPattern) ?? responses[0];
  const templates = Object.values((chosen?.ResponseTemplates ?? {}) as Record<string, string>).filter(
    Boolean,
  );
  if (templates.length > 0)
    warn('MOCK response templates (VTL) are not evaluated locally; static headers only');
  return {
    statusCode: Number(chosen?.StatusCode ?? 200),
    headers: staticHeaders(
      chosen?.ResponseParameters as Record<string, unknown> | undefined,
      'method.response.header.',
    ),
  };
}

/** The `StageName` of the template's `AWS::ApiGateway::Stage` for an API. */
function stageOf(stack: StackScope, apiLogicalId: string): string | undefined {
  return Object.values(stack.template.Resources).find(
    (r) =>
      r.Type === 'AWS::ApiGateway::Stage' &&
      (r.Properties?.RestApiId as { Ref?: string })?.Ref === apiLogicalId,
  )?.Properties?.StageName as string | undefined;
}

async function invoke(
  env: DeployEnvironment,
  functionArn: string,
  event: unknown,
  options?: { signal?: AbortSignal },
) {
  const fn = env.runtime.get(functionArn);
  if (!fn)
    return {
      ok: false as const,
      error: { errorType: 'ResourceNotFoundException', errorMessage: `No function ${functionArn}` },
    };
  return fn.invoke(event, options);
}
