import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ServiceFunction } from '../../infra/constructs/service-function.ts';
import { synth } from './synth.ts';

/** Every IAM statement attached to the role of the function whose logical id starts with `prefix`. */
function statementsOf(template: Template, prefix: string) {
  const functions = template.findResources('AWS::Lambda::Function');
  const fnId = Object.keys(functions).find((id) => id.startsWith(prefix));
  expect(fnId, `function ${prefix}`).toBeDefined();
  const roleId = functions[fnId as string]?.Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
    .flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
}

describe('Services stack', () => {
  const aws = synth('aws', 'dev');
  const local = synth('local', 'dev');
  const services = aws.template(aws.shop.services);
  const localServices = local.template(local.shop.services);

  it('is a REST API (v1) with access logs, tracing and throttling', () => {
    services.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    services.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    services.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 })],
    });
  });

  it('gives every function of ours the house defaults', () => {
    // CDK's own custom-resource providers (e.g. restricting the VPC's default security group) are not ServiceFunctions.
    const ours = [services, aws.template(aws.shop.database), localServices].flatMap((template) =>
      Object.values(template.findResources('AWS::Lambda::Function')).filter(
        (fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
      ),
    );
    expect(ours).toHaveLength(2 + 1 + 3); // aws services, aws database, local services
    for (const fn of ours) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON' },
        Handler: 'index.handler',
      });
      expect(fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBeTypeOf('string');
    }
  });

  it('serves GET /health without auth and GET /me behind the Cognito authorizer on AWS', () => {
    services.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'NONE',
    });
    services.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'COGNITO_USER_POOLS',
      AuthorizerId: Match.anyValue(),
    });
    services.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'COGNITO_USER_POOLS' });
    services.resourceCountIs('AWS::Cognito::UserPool', 1);
    services.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'admin' });
  });

  it('verifies JWTs with a Lambda TOKEN authorizer where Cognito is missing', () => {
    localServices.resourceCountIs('AWS::Cognito::UserPool', 0);
    localServices.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
    });
    localServices.hasParameter('JwtPublicJwk', { Type: 'String' });
    localServices.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'CUSTOM',
    });
  });

  it('grants the health function only the table, bucket and secret it checks', () => {
    const statements = statementsOf(services, 'Health');
    const granted = statements.filter((s) => JSON.stringify(s.Action).match(/dynamodb|s3|secretsmanager/));
    const text = JSON.stringify(granted);
    expect(text).toContain('dynamodb:DescribeTable');
    expect(text).toContain('s3:ListBucket');
    expect(text).toContain('secretsmanager:GetSecretValue');
    expect(text).toMatch(/Catalog/);
    expect(text).toMatch(/LakeRaw/);
    for (const other of ['Carts', 'Idempotency', 'LakeCurated', 'LakeAnalytics'])
      expect(text).not.toContain(other);
    for (const s of statements) expect([s.Action].flat()).not.toContain('*');
    for (const s of granted) expect(s.Resource).not.toBe('*');
  });

  it('grants the identity function no data access at all', () => {
    const text = JSON.stringify(statementsOf(services, 'Me'));
    expect(text).not.toMatch(/dynamodb:|s3:|secretsmanager:|rds-db:/);
  });

  it('puts database clients in the VPC on AWS and out of it elsewhere', () => {
    services.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Environment: {
        Variables: Match.objectLike({ DB_SECRET_ARN: Match.anyValue(), DB_SSL: 'verify-full' }),
      },
    });
    for (const fn of Object.values(localServices.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.VpcConfig).toBeUndefined();
    }
  });
});

describe('ServiceFunction', () => {
  it('refuses an entry outside functions/ with a clear message', () => {
    const stack = new Stack(new App(), 'T');
    expect(() => new ServiceFunction(stack, 'Bad', { entry: 'shared/config.ts', service: 'x' })).toThrow(
      /entry must be a \.ts file under functions\//,
    );
  });
});
