import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../infra/config.ts';
import { buildShop } from '../../infra/shop.ts';
import { statementsOf, synth } from './synth.ts';

describe('Chaos stack (AWS FIS)', () => {
  it('is off by default', () => {
    const { shop } = synth('aws', 'dev');
    expect(shop.chaos).toBeUndefined();
    expect(shop.services.node.root.node.children.map((c) => c.node.id)).not.toContain('Shop-dev-Chaos');
  });

  it('refuses -c chaos=true on targets without FIS', () => {
    const app = new App({ context: { target: 'local', chaos: 'true', 'aws:cdk:bundling-stacks': [] } });
    expect(() => buildShop(app, readConfig(app))).toThrow(/needs -c target=aws/);
  });

  for (const stage of ['dev', 'prod'] as const) {
    describe(`with -c chaos=true (${stage}), cdk-nag clean`, () => {
      const { shop, template } = synth('aws', stage, { chaos: 'true' });
      const chaos = shop.chaos;
      if (!chaos) throw new Error('no chaos stack');
      const t = template(chaos);
      const templates = t.findResources('AWS::FIS::ExperimentTemplate');
      const byAction = (actionId: string) =>
        Object.values(templates).find((r) => r.Properties.Actions.inject.ActionId === actionId);

      it('has experiment templates for Lambda invocation errors and delays and an RDS reboot', () => {
        expect(Object.keys(templates)).toHaveLength(3);
        expect(byAction('aws:lambda:invocation-error')?.Properties.Actions.inject.Parameters).toMatchObject({
          invocationPercentage: '25',
          preventExecution: 'true',
        });
        expect(
          byAction('aws:lambda:invocation-add-delay')?.Properties.Actions.inject.Parameters,
        ).toMatchObject({
          startupDelayMilliseconds: '3000',
        });
        expect(byAction('aws:rds:reboot-db-instances')?.Properties.Actions.inject.Parameters).toEqual({
          forceFailover: stage === 'prod' ? 'true' : 'false',
        });
        const lambdaTargets = byAction('aws:lambda:invocation-error')?.Properties.Targets.Functions;
        expect(lambdaTargets.ResourceType).toBe('aws:lambda:function');
        expect(lambdaTargets.ResourceArns).toHaveLength(3);
      });

      it('stops every experiment on the dead-letter and database-connection alarms', () => {
        for (const resource of Object.values(templates)) {
          const stops = resource.Properties.StopConditions;
          expect(stops).toHaveLength(2);
          for (const stop of stops) {
            expect(stop.Source).toBe('aws:cloudwatch:alarm');
            expect(JSON.stringify(stop.Value)).toMatch(/DeadLetters|DatabaseConnections/);
          }
        }
      });

      it('gives the experiments a role FIS assumes, limited to their targets', () => {
        t.hasResourceProperties('AWS::IAM::Role', {
          AssumeRolePolicyDocument: Match.objectLike({
            Statement: Match.arrayWith([
              Match.objectLike({ Principal: { Service: 'fis.amazonaws.com' }, Action: 'sts:AssumeRole' }),
            ]),
          }),
        });
        const policies = Object.values(t.findResources('AWS::IAM::Policy'));
        const actions = policies.flatMap((p) =>
          p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) =>
            ([] as string[]).concat(s.Action),
          ),
        );
        expect(actions).toEqual(
          expect.arrayContaining([
            'lambda:GetFunction',
            's3:PutObject',
            'rds:RebootDBInstance',
            'tag:GetResources',
          ]),
        );
        expect(actions).not.toContain('rds:*');
      });

      it('puts the FIS extension on the API functions, reading faults from the configs bucket', () => {
        const services = template(shop.services);
        const functions = Object.values(services.findResources('AWS::Lambda::Function')).filter(
          (f) => f.Properties.Environment?.Variables?.AWS_LAMBDA_EXEC_WRAPPER === '/opt/aws-fis/bootstrap',
        );
        expect(functions).toHaveLength(3);
        for (const fn of functions) {
          expect(fn.Properties.Layers).toHaveLength(1);
          expect(
            JSON.stringify(fn.Properties.Environment.Variables.AWS_FIS_CONFIGURATION_LOCATION),
          ).toContain('FisConfigs/');
        }
        const reads = statementsOf(services, 'OrdersApi').flatMap((s) => ([] as string[]).concat(s.Action));
        expect(reads).toContain('s3:GetObject');
      });
    });
  }
});

describe('Failover and partition on AWS (issue 12), cdk-nag clean', () => {
  const { shop, template } = synth('aws', 'prod', {
    chaos: 'true',
    region: 'eu-west-1',
    globalTableReplica: 'us-east-1',
  });
  const chaos = shop.chaos;
  if (!chaos) throw new Error('no chaos stack');
  const fis = Object.values(template(chaos).findResources('AWS::FIS::ExperimentTemplate'));
  const byAction = (actionId: string) => fis.find((r) => r.Properties.Actions.inject.ActionId === actionId);

  it('makes the lab table a global table with a replica in the other region', () => {
    const tables = Object.values(template(shop.data).findResources('AWS::DynamoDB::GlobalTable')).filter(
      (t) =>
        JSON.stringify(t.Properties.KeySchema).includes('"pk"') &&
        t.Properties.TimeToLiveSpecification?.AttributeName === 'expiresAt' &&
        // The lab's table (the carts table has the same key and TTL, but no byGroup index).
        JSON.stringify(t.Properties.GlobalSecondaryIndexes ?? []).includes('byGroup'),
    );
    expect(tables).toHaveLength(1);
    const regions = tables[0]?.Properties.Replicas.map((r: { Region: string }) => r.Region).sort();
    expect(regions).toEqual(['eu-west-1', 'us-east-1']);
  });

  it('has a FIS template pausing the global table replication, and the RDS reboot with failover', () => {
    const pause = byAction('aws:dynamodb:global-table-pause-replication');
    expect(pause?.Properties.Actions.inject.Parameters).toEqual({ duration: 'PT5M' });
    expect(pause?.Properties.Targets.Tables.ResourceType).toBe('aws:dynamodb:global-table');
    expect(pause?.Properties.Tags.Name).toBe('shop-prod-global-table-pause-replication');
    expect(byAction('aws:rds:reboot-db-instances')?.Properties.Actions.inject.Parameters).toEqual({
      forceFailover: 'true',
    });
    const actions = Object.values(template(chaos).findResources('AWS::IAM::Policy')).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) =>
        ([] as string[]).concat(s.Action),
      ),
    );
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:PutResourcePolicy', 'dynamodb:DeleteResourcePolicy']),
    );
  });

  it('tells the lab those experiments, found by tag, and both regions', () => {
    const services = template(shop.services);
    const runner = Object.values(services.findResources('AWS::Lambda::Function')).find((f) =>
      String(f.Properties.Description).startsWith('ConsistencyExperimentRequested'),
    );
    const env = runner?.Properties.Environment.Variables;
    expect(JSON.parse(env.LAB_FAULT_TEMPLATES)).toEqual({
      failover: 'tag:shop-prod-database-reboot-failover',
      partition: 'tag:shop-prod-global-table-pause-replication',
    });
    expect(JSON.stringify(env.LAB_REGIONS)).toContain('us-east-1');
  });

  it('refuses a replica without a home region', () => {
    const app = new App({
      context: { target: 'aws', globalTableReplica: 'us-east-1', 'aws:cdk:bundling-stacks': [] },
    });
    expect(() => readConfig(app)).toThrow(/-c region=/);
  });
});
