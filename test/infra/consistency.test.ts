import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { statementsOf, synth } from './synth.ts';

function functionProps(template: Template, prefix: string) {
  const [, fn] =
    Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith(prefix)) ??
    [];
  expect(fn, `function ${prefix}`).toBeDefined();
  return fn?.Properties;
}

describe('Consistency lab', () => {
  const aws = synth('aws', 'dev');
  const local = synth('local', 'dev');
  const services = aws.template(aws.shop.services);
  const localServices = local.template(local.shop.services);

  it('serves its three routes behind the authorizer', () => {
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
      )
      .filter((route) => route.includes('/consistency'));
    expect(routes.sort()).toEqual([
      'GET /consistency/experiments COGNITO_USER_POOLS',
      'GET /consistency/experiments/{experimentId} COGNITO_USER_POOLS',
      'POST /consistency/experiments COGNITO_USER_POOLS',
    ]);
  });

  it('tells both functions the target and where the lab table, catalog and bus are', () => {
    for (const [template, target] of [
      [services, 'aws'],
      [localServices, 'local'],
    ] as const) {
      for (const prefix of ['ConsistencyLabConsistencyApi', 'ConsistencyLabConsistencyRunner']) {
        const variables = functionProps(template, prefix)?.Environment.Variables;
        expect(variables).toMatchObject({
          SHOP_TARGET: target,
          CONSISTENCY_LAB_TABLE: expect.anything(),
          CATALOG_TABLE: expect.anything(),
          EVENT_BUS_NAME: expect.anything(),
        });
        if (target === 'aws') expect(variables.DB_SECRET_ARN).toBeDefined();
        else expect(variables.DATABASE_URL).toBeDefined();
      }
    }
    // The API stops before API Gateway's 29 s; the runner has Lambda's 15 minutes.
    expect(functionProps(services, 'ConsistencyLabConsistencyApi')?.Timeout).toBe(29);
    expect(functionProps(services, 'ConsistencyLabConsistencyRunner')?.Timeout).toBe(900);
  });

  it('grants the lab table and its byGroup index exactly, and the catalog only for lab products', () => {
    for (const prefix of ['ConsistencyLabConsistencyApi', 'ConsistencyLabConsistencyRunner']) {
      const statements = statementsOf(services, prefix);
      const text = JSON.stringify(statements);
      expect(text).not.toContain('index/*');
      expect(text).not.toMatch(/Carts|Idempotency|Lake/);
      for (const s of statements) expect([s.Action].flat()).not.toContain('*');

      const lab = statements.find((s) => JSON.stringify(s.Resource).includes('ConsistencyLab'));
      expect(JSON.stringify(lab?.Resource)).toContain('/index/byGroup');
      expect([lab?.Action].flat()).toEqual(
        expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem']),
      );

      const catalog = statements.filter((s) => JSON.stringify(s.Resource).includes('Catalog'));
      expect(catalog).toHaveLength(1);
      expect([catalog[0]?.Action].flat().sort()).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
      ]);
      expect(catalog[0]?.Condition).toEqual({
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PRODUCT#lab-*'] },
      });

      expect(text).toMatch(/events:PutEvents/);
      expect(text).toMatch(/secretsmanager:GetSecretValue/);
    }
  });

  it('runs queued experiments from a rule on the shop bus, with retries and the dead-letter queue', () => {
    services.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['shop.consistency'], 'detail-type': ['ConsistencyExperimentRequested'] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConsistencyLabConsistencyRunner'), 'Arn'] },
          DeadLetterConfig: { Arn: Match.anyValue() },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: Match.anyValue() }),
        }),
      ],
    });
  });

  it('puts both functions under the alarms of the services stack', () => {
    const ids = aws.shop.services.functions.map((fn) => fn.node.id);
    expect(ids).toEqual(expect.arrayContaining(['ConsistencyApi', 'ConsistencyRunner']));
  });
});
