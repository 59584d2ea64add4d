import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { handlerEntries } from '../../infra/constructs/bundles.ts';
import { ServiceFunction } from '../../infra/constructs/service-function.ts';
import { ROUTES } from '../../shared/api/routes.ts';
import { statementsOf, synth } from './synth.ts';

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
    // Graviton on AWS; the host's architecture locally, where the functions run in the host's Node.
    const host = process.arch === 'arm64' ? 'arm64' : 'x86_64';
    const templates: [typeof services, string][] = [
      [services, 'arm64'],
      [aws.template(aws.shop.database), 'arm64'],
      [localServices, host],
    ];
    const ours = templates.flatMap(([template, architecture]) =>
      Object.values(template.findResources('AWS::Lambda::Function'))
        .filter((fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
        .map((fn) => ({ Properties: fn.Properties, architecture })),
    );
    expect(ours).toHaveLength(11 + 1 + 12); // aws services, aws database, local services (+ JWT authorizer)
    for (const fn of ours) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: [fn.architecture],
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

describe('shop services', () => {
  const aws = synth('aws', 'dev');
  const services = aws.template(aws.shop.services);

  /** Every dynamodb:/events:/secretsmanager: permission of a function, as `action on resource-text`. */
  const dataAccess = (prefix: string) =>
    statementsOf(services, prefix)
      .filter((s) => JSON.stringify(s.Action).match(/dynamodb:|events:|secretsmanager:|s3:/))
      .flatMap((s) => [s.Action].flat().map((a) => `${a} ${JSON.stringify(s.Resource)}`));

  it('exposes the API contract with the right authorization per route', () => {
    const resources = services.findResources('AWS::ApiGateway::Resource');
    const pathOf = (id: string): string => {
      const r = resources[id];
      if (!r) return '';
      const parent = r.Properties.ParentId.Ref as string | undefined;
      return `${parent ? pathOf(parent) : ''}/${r.Properties.PathPart}`;
    };
    const routes = Object.values(services.findResources('AWS::ApiGateway::Method'))
      .filter((m) => m.Properties.HttpMethod !== 'OPTIONS') // CORS preflights: test/infra/web.test.ts
      .map(
        (m) =>
          `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId.Ref)} ${m.Properties.AuthorizationType}`,
      );
    // One source of truth: the manifest (shared/api/routes.ts); a route only here or only there fails.
    expect(routes.sort()).toEqual(
      ROUTES.map(
        (r) => `${r.method} ${r.path} ${r.auth === 'public' ? 'NONE' : 'COGNITO_USER_POOLS'}`,
      ).sort(),
    );
    expect(routes).toHaveLength(22);
  });

  it('gives each function only the tables, bus and secret it uses', () => {
    const projection = dataAccess('CatalogStockProjection');
    expect(projection.every((p) => p.startsWith('dynamodb:UpdateItem') && p.includes('Catalog'))).toBe(true);
    const cart = dataAccess('CartApi').join('\n');
    expect(cart).not.toMatch(/Idempotency|events:|secretsmanager:/);
    expect(cart).toMatch(/dynamodb:GetItem .*Catalog/);
    expect(cart).not.toMatch(/dynamodb:(PutItem|UpdateItem|DeleteItem) .*Catalog/);
    const orders = dataAccess('OrdersApi').join('\n');
    expect(orders).toMatch(/secretsmanager:GetSecretValue/);
    expect(orders).toMatch(/events:PutEvents/);
    expect(orders).not.toMatch(/dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)/);
    const catalog = dataAccess('CatalogApi').join('\n');
    expect(catalog).not.toMatch(/Carts|secretsmanager:/);
    expect(catalog).toMatch(/dynamodb:PutItem .*Idempotency/);
    // The catalog's deletes are its outbox items', never a product's (partition OUTBOX only).
    for (const fn of ['CatalogApi', 'CatalogOutboxRelay']) {
      const deletes = statementsOf(services, fn).filter((s) =>
        JSON.stringify(s.Action).match(/DeleteItem|BatchWriteItem/),
      );
      const catalogDeletes = deletes.filter((s) => JSON.stringify(s.Resource).includes('Catalog'));
      expect(catalogDeletes.length).toBeGreaterThan(0);
      for (const s of catalogDeletes) {
        expect(s.Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['OUTBOX'] } });
      }
    }
    const relay = dataAccess('OutboxRelay').join('\n');
    expect(relay).not.toMatch(/dynamodb:/);
    expect(relay).toMatch(/events:PutEvents/);
  });

  it('routes events to their consumers with retries and the dead-letter queue, and schedules the relay', () => {
    for (const [detailType, consumer] of [
      ['InventoryChanged', 'CatalogStockProjection'],
      ['OrderPlaced', 'CartOrderPlaced'],
    ] as const) {
      services.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ 'detail-type': [detailType] }),
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${consumer}`), 'Arn'] },
            DeadLetterConfig: { Arn: Match.anyValue() },
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
          }),
        ],
      });
    }
    services.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxRelay'), 'Arn'] } })],
    });
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

describe('the one bundle build (infra/constructs/bundles.ts)', () => {
  it('covers exactly the handlers the functions of every target use: none missing, none built for nothing', () => {
    const used = new Set<string>();
    for (const target of ['aws', 'local', 'localstack'] as const) {
      for (const construct of synth(target, 'dev').app.node.findAll()) {
        if (construct instanceof ServiceFunction) used.add(construct.entry);
      }
    }
    expect([...used].sort()).toEqual(handlerEntries());
  });
});
