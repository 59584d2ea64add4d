import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

/**
 * Resource types LocalStack's free (community) tier deploys through CloudFormation. The
 * localstack target must stay inside this list: RDS, Cognito, API Gateway v2, Secrets Manager
 * rotation and the like are paid features there.
 */
const LOCALSTACK_COMMUNITY = new Set([
  'AWS::CDK::Metadata',
  'AWS::DynamoDB::GlobalTable',
  'AWS::DynamoDB::Table',
  'AWS::S3::Bucket',
  'AWS::S3::BucketPolicy',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Logs::LogGroup',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::Authorizer',
  'AWS::ApiGateway::GatewayResponse',
  'AWS::Events::EventBus',
  'AWS::Events::Archive',
  'AWS::Events::Rule',
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'Custom::DatabaseMigrations',
]);

describe('target=localstack', () => {
  const { app } = synth('localstack', 'dev');
  const assembly = app.synth();

  it('uses only resource types that LocalStack community deploys', () => {
    const types = new Set(
      assembly.stacks.flatMap((stack) =>
        Object.values((stack.template as { Resources: Record<string, { Type: string }> }).Resources).map(
          (r) => r.Type,
        ),
      ),
    );
    expect([...types].filter((t) => !LOCALSTACK_COMMUNITY.has(t))).toEqual([]);
  });

  it('takes the Postgres URL and the JWT key as parameters that deploy-localstack.sh passes', () => {
    const parameters = Object.fromEntries(
      assembly.stacks.map((s) => [
        s.stackName,
        Object.keys((s.template as { Parameters?: object }).Parameters ?? {}),
      ]),
    );
    expect(parameters['Shop-dev-Database']).toContain('DatabaseUrl');
    expect(parameters['Shop-dev-Services']).toEqual(expect.arrayContaining(['DatabaseUrl', 'JwtPublicJwk']));
    const script = readFileSync(new URL('../../scripts/deploy-localstack.sh', import.meta.url), 'utf8');
    for (const [stack, names] of Object.entries(parameters)) {
      for (const name of names.filter((n) => n !== 'BootstrapVersion')) {
        expect(script, `deploy-localstack.sh passes ${stack}:${name}`).toContain(`${stack}:${name}=`);
      }
    }
  });
});
