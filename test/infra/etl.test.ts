import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { hostArchitecture } from '../../infra/config.ts';
import { installNodeModules, lambdaPlatform, matchesPlatform } from '../../infra/constructs/node-modules.ts';
import { PROJECT_ROOT } from '../../infra/constructs/service-function.ts';
import { synth } from './synth.ts';

const aws = synth('aws', 'dev');
const local = synth('local', 'dev');
const etl = aws.template(aws.shop.etl as NonNullable<typeof aws.shop.etl>);
const localEtl = local.template(local.shop.etl as NonNullable<typeof local.shop.etl>);

describe('ETL stack', () => {
  const definitionOf = (template: typeof etl) => {
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const parts = machine?.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    return JSON.parse(
      parts
        .map((p) => (typeof p === 'string' ? p : '"ARN"'))
        .join('')
        .replace(/""ARN""/g, '"ARN"'),
    ) as {
      StartAt: string;
      States: Record<
        string,
        {
          Type: string;
          Next?: string;
          Retry?: { ErrorEquals: string[]; MaxAttempts: number }[];
          Catch?: { Next: string }[];
        }
      >;
    };
  };

  it('orchestrates Extract → Transform → Aggregate with retries and a catch that records the failure', () => {
    const definition = definitionOf(etl);
    expect(definition.StartAt).toBe('Prepare');
    expect(definition.States.Prepare?.Next).toBe('Extract');
    expect(definition.States.Extract?.Next).toBe('Transform');
    expect(definition.States.Transform?.Next).toBe('Aggregate');
    for (const step of ['Extract', 'Transform', 'Aggregate']) {
      const state = definition.States[step];
      expect(state?.Retry).toContainEqual(
        expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 2 }),
      );
      expect(state?.Catch?.[0]?.Next).toBe('RecordFailure');
    }
    expect(definition.States.RecordFailure?.Next).toBe('Failed');
    etl.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    // The same definition on every target: the local cloud runs what deploys.
    expect(JSON.stringify(definitionOf(localEtl))).toBe(JSON.stringify(definition));
  });

  it('runs daily on a schedule that starts the state machine', () => {
    etl.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(30 2 * * ? *)',
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('Pipeline') } })],
    });
  });

  it('declares Glue tables with partition projection and an Athena workgroup with the report queries (aws only)', () => {
    etl.resourceCountIs('AWS::Glue::Database', 1);
    const tables = Object.values(etl.findResources('AWS::Glue::Table')).map((t) => t.Properties.TableInput);
    expect(tables.map((t) => t.Name).sort()).toEqual(
      [
        'analytics_cancellations',
        'analytics_daily_sales',
        'analytics_top_products',
        'curated_order_items',
        'curated_orders',
        'curated_products',
      ].sort(),
    );
    for (const table of tables) {
      expect(table.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }]);
      expect(table.Parameters).toMatchObject({ 'projection.enabled': 'true', 'projection.dt.type': 'date' });
    }
    const dailySales = tables.find((t) => t.Name === 'analytics_daily_sales');
    expect(dailySales.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name)).toEqual([
      'region',
      'category',
      'orders',
      'units',
      'revenue_cents',
    ]);
    etl.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: Match.anyValue(),
      }),
    });
    etl.resourceCountIs('AWS::Athena::NamedQuery', 3);
    localEtl.resourceCountIs('AWS::Glue::Table', 0);
    localEtl.resourceCountIs('AWS::Athena::WorkGroup', 0);
  });

  it('configures the query engine per target', () => {
    const aggregate = (template: typeof etl) =>
      Object.values(template.findResources('AWS::Lambda::Function')).find(
        (f) => f.Properties.Handler === 'index.aggregate',
      )?.Properties.Environment.Variables;
    expect(aggregate(etl)).toMatchObject({ QUERY_ENGINE: 'athena', ATHENA_WORKGROUP: 'shop-dev-etl' });
    expect(aggregate(localEtl)).toMatchObject({ QUERY_ENGINE: 'duckdb' });
  });

  it("gives the steps no fault switch on any target (faults are the local cloud's or FIS's)", () => {
    for (const template of [etl, localEtl]) {
      const functions = Object.values(template.findResources('AWS::Lambda::Function'));
      expect(functions.length).toBeGreaterThan(3);
      for (const fn of functions) {
        expect(Object.keys(fn.Properties.Environment?.Variables ?? {}).join(',')).not.toMatch(/FAULT/);
      }
    }
  });

  it('grants each step only what it uses', () => {
    const functions = etl.findResources('AWS::Lambda::Function');
    const policies = Object.values(etl.findResources('AWS::IAM::Policy'));
    const statementsOf = (handler: string) => {
      const [, fn] = Object.entries(functions).find(([, f]) => f.Properties.Handler === handler) ?? [];
      const roleId = fn?.Properties.Role['Fn::GetAtt'][0];
      return policies
        .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
        .flatMap(
          (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
        )
        .map((s) => `${[s.Action].flat().join(',')} ${JSON.stringify(s.Resource)}`);
    };
    const extract = statementsOf('index.extract').join('\n');
    expect(extract).toMatch(/s3:PutObject .*Lake-raw-Arn/);
    expect(extract).not.toMatch(/s3:(GetObject|DeleteObject)|Lake-(curated|analytics)/);
    expect(extract).toMatch(/dynamodb:Scan .*Catalog/);
    expect(extract).toMatch(/secretsmanager:GetSecretValue/);
    const transform = statementsOf('index.transform').join('\n');
    expect(transform).toMatch(/s3:GetObject .*Lake-raw-Arn/);
    expect(transform).not.toMatch(
      /s3:(PutObject|DeleteObject)[^\n]*Lake-raw-Arn|Lake-analytics|secretsmanager|athena/,
    );
    const aggregate = statementsOf('index.aggregate').join('\n');
    expect(aggregate).toMatch(/athena:StartQueryExecution.*workgroup\/shop-dev-etl/);
    expect(aggregate).not.toMatch(/Lake-raw|secretsmanager|athena:\*/);
    const failure = statementsOf('index.recordFailure');
    expect(failure.filter((s) => !s.startsWith('xray:'))).toEqual([
      expect.stringMatching(/^dynamodb:UpdateItem .*EtlState/),
    ]);
    const runs = statementsOf('index.handler').join('\n');
    expect(runs).toMatch(/states:StartExecution/);
    expect(runs).not.toMatch(/s3:|dynamodb:(PutItem|UpdateItem|DeleteItem)/);
  });
});

describe('DuckDB in the ETL functions', () => {
  it('ships @duckdb/node-api in the assets of transform and aggregate, with the binary of their architecture', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'node-modules-test-'));
    try {
      const copied = installNodeModules(dir, ['@duckdb/node-api'], lambdaPlatform(hostArchitecture()), {
        root: PROJECT_ROOT,
        cacheDir: path.join(dir, 'cache'),
      });
      const host = `@duckdb/node-bindings-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;
      expect(copied).toEqual(expect.arrayContaining(['@duckdb/node-api', '@duckdb/node-bindings', host]));
      expect(copied.filter((p) => p.startsWith('@duckdb/node-bindings-'))).toEqual([host]);
      expect(existsSync(path.join(dir, 'node_modules', host, 'duckdb.node'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // npm's platform rules pick the Lambda binary, never another OS's or musl's.
    const arm = lambdaPlatform('arm64');
    expect(matchesPlatform({ os: ['linux'], cpu: ['arm64'], libc: ['glibc'] }, arm)).toBe(true);
    expect(matchesPlatform({ os: ['linux'], cpu: ['x64'], libc: ['glibc'] }, arm)).toBe(false);
    expect(matchesPlatform({ os: ['linux'], cpu: ['arm64'], libc: ['musl'] }, arm)).toBe(false);
    expect(matchesPlatform({ os: ['darwin'], cpu: ['arm64'] }, arm)).toBe(false);
    expect(matchesPlatform({ os: ['!win32'] }, arm)).toBe(true);
  });

  it('declares it per function: external to the bundle, arm64 on AWS and the host architecture locally', () => {
    const functions = (template: typeof etl, handler: string) =>
      Object.values(template.findResources('AWS::Lambda::Function')).find(
        (f) => f.Properties.Handler === handler,
      )?.Properties;
    const host = process.arch === 'arm64' ? 'arm64' : 'x86_64';
    for (const handler of ['index.transform', 'index.aggregate']) {
      expect(functions(etl, handler)?.Architectures).toEqual(['arm64']);
      expect(functions(localEtl, handler)?.Architectures).toEqual([host]);
    }
    const metadata = (fnId: string) =>
      aws.shop.etl?.node.tryFindChild(fnId)?.node.metadata.find((m) => m.type === 'shop:nodeModules')?.data;
    expect(metadata('EtlTransform')).toEqual(['@duckdb/node-api']);
    expect(metadata('EtlAggregate')).toEqual(['@duckdb/node-api']);
    expect(metadata('EtlExtract')).toBeUndefined();
  });
});
