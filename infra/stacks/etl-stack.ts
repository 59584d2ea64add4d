import {
  type CfnElement,
  Duration,
  RemovalPolicy,
  Size,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { HANDLERS } from '../../shared/api/routes.ts';
import { CURATED_SCHEMAS, type ParquetType } from '../../shared/etl/domain/records.ts';
import { REPORT_SQL } from '../../shared/etl/domain/sql.ts';
import type { ShopConfig } from '../config.ts';
import { ServiceFunction, type ServiceFunctionProps } from '../constructs/service-function.ts';
import type { DataStack } from './data-stack.ts';
import type { DatabaseStack } from './database-stack.ts';
import type { ServicesStack } from './services-stack.ts';

export interface EtlStackProps extends StackProps {
  readonly config: ShopConfig;
  readonly data: DataStack;
  readonly database: DatabaseStack;
}

const GLUE_TYPES: Record<ParquetType, string> = {
  STRING: 'string',
  INT32: 'int',
  INT64: 'bigint',
  DOUBLE: 'double',
  TIMESTAMP: 'timestamp',
};

/**
 * The data-lake ETL: Postgres + DynamoDB → raw (gzip JSON Lines) → curated (Parquet) → analytics.
 *
 * - Functions `EtlExtract`, `EtlTransform`, `EtlAggregate`, `EtlRecordFailure` (the steps) and
 *   `EtlRunsApi` (`POST/GET /etl/runs`), each granted only the buckets, table and actions it uses.
 * - A Step Functions state machine Extract → Transform → Aggregate (retries, a catch that records the
 *   failure), started daily by an EventBridge schedule (it processes yesterday).
 * - `EtlState`: runs and watermarks (DynamoDB).
 * - `target=aws`: a Glue database with the curated and analytics tables (partition projection on
 *   `dt`: no crawler, no MSCK REPAIR) and an Athena workgroup (results bucket, scan limit) holding the
 *   aggregate queries; the aggregate step runs there (`QUERY_ENGINE=athena`). Elsewhere it runs the
 *   same SQL on embedded DuckDB (`QUERY_ENGINE=duckdb`).
 */
export class EtlStack extends Stack {
  readonly stateTable: dynamodb.TableV2;
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: events.Rule;
  readonly steps: Record<'extract' | 'transform' | 'aggregate' | 'recordFailure', ServiceFunction>;
  readonly runsApi: ServiceFunction;
  readonly functions: ServiceFunction[];
  readonly glueDatabase?: glue.CfnDatabase;
  readonly workgroup?: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: EtlStackProps) {
    super(scope, id, props);
    const { config, data, database } = props;
    const { raw, curated, analytics } = data.lake;
    const aws = config.target === 'aws';
    const prod = config.stage === 'prod';
    // Bucket ARNs through named exports: the cdk-nag findings on `<bucket>/*` then have stable ids to acknowledge.
    const zoneArn = (zone: 'raw' | 'curated' | 'analytics') =>
      data.exportValue(data.lake[zone].bucketArn, { name: `${config.prefix}-Lake-${zone}-Arn` });
    const lakeArn = { raw: zoneArn('raw'), curated: zoneArn('curated'), analytics: zoneArn('analytics') };
    const objectsAck = (fn: ServiceFunction, zone: Zone, reason: string) =>
      Validations.of(fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${config.prefix}-Lake-${zone}-Arn/*]`,
        reason,
      });

    this.stateTable = new dynamodb.TableV2(this, 'EtlState', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: prod,
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      globalSecondaryIndexes: [
        {
          indexName: 'byStarted',
          partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
        },
      ],
    });

    // Per-target configuration: the code reads these, it never asks where it runs.
    const glueDatabaseName = `shop_${config.stage}_lake`;
    const workgroupName = `shop-${config.stage}-etl`;
    const lakeEnv = {
      LAKE_RAW_BUCKET: raw.bucketName,
      LAKE_CURATED_BUCKET: curated.bucketName,
      LAKE_ANALYTICS_BUCKET: analytics.bucketName,
      ETL_STATE_TABLE: this.stateTable.tableName,
    };
    const step = (fnId: string, handler: string, description: string, extra: Partial<ServiceFunctionProps>) =>
      new ServiceFunction(this, fnId, {
        entry: 'functions/etl/steps.ts',
        handler,
        service: 'etl',
        description,
        timeout: Duration.minutes(15),
        memorySize: 1024,
        ephemeralStorageSize: Size.gibibytes(4),
        ...extra,
        environment: { ...lakeEnv, ...extra.environment },
        // DuckDB is a native module, never bundled (bundles.ts EXTERNAL_MODULES): transform and aggregate
        // ship it in their asset's node_modules (the binary of the function's architecture).
      });

    const extract = step('EtlExtract', 'extract', 'ETL: orders (incremental) and catalog snapshot → raw', {
      environment: {
        CATALOG_TABLE: data.catalogTable.tableName,
        ETL_SETTLE_SECONDS: config.target === 'local' ? '1' : '60',
        ETL_SCAN_SEGMENTS: '4',
      },
      ...database.networking,
    });
    database.grantConnect(extract);
    grant(extract, ['s3:PutObject'], [`${lakeArn.raw}/*`]);
    objectsAck(extract, 'raw', 'Writes raw batches under partitions named at run time (put only).');
    grant(extract, ['dynamodb:Scan'], [data.catalogTable.tableArn]);

    /** A DuckDB step reads one zone of the lake and writes (stages, then publishes) the next. */
    const duckdbStep = { memorySize: 2048, nodeModules: ['@duckdb/node-api'] };
    const readsAndWrites = (fn: ServiceFunction, from: Zone, to: Zone, reads: string, writes: string) => {
      grant(fn, ['s3:ListBucket'], [lakeArn[from]]);
      grant(fn, ['s3:GetObject'], [`${lakeArn[from]}/*`]);
      grantZoneWrite(fn, lakeArn[to]);
      objectsAck(fn, from, reads);
      objectsAck(fn, to, writes);
    };

    const transform = step(
      'EtlTransform',
      'transform',
      'ETL: raw → curated Parquet (validate, dedupe, enrich)',
      {
        ...duckdbStep,
      },
    );
    readsAndWrites(
      transform,
      'raw',
      'curated',
      'Reads the raw objects of the day it transforms (read only).',
      'Writes curated partitions and its staging keys, named at run time.',
    );

    const aggregate = step(
      'EtlAggregate',
      'aggregate',
      'ETL: curated → analytics (SQL on Athena or DuckDB)',
      {
        ...duckdbStep,
        environment: aws
          ? { QUERY_ENGINE: 'athena', ATHENA_WORKGROUP: workgroupName, GLUE_DATABASE: glueDatabaseName }
          : { QUERY_ENGINE: 'duckdb' },
      },
    );
    readsAndWrites(
      aggregate,
      'curated',
      'analytics',
      'Reads curated Parquet files (read only).',
      'Writes report partitions and its staging keys, named at run time.',
    );

    const recordFailure = step(
      'EtlRecordFailure',
      'recordFailure',
      'ETL: marks a run FAILED with its error',
      {
        memorySize: 256,
        timeout: Duration.seconds(30),
        ephemeralStorageSize: Size.mebibytes(512),
      },
    );

    for (const fn of [extract, transform, aggregate]) {
      grant(fn, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], [this.stateTable.tableArn]);
    }
    grant(recordFailure, ['dynamodb:UpdateItem'], [this.stateTable.tableArn]);
    this.steps = { extract, transform, aggregate, recordFailure };

    // Orchestration: the definition that deploys is the one the local cloud runs.
    const machineLogs = new logs.LogGroup(this, 'PipelineLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const failed = new sfn.Fail(this, 'Failed', {
      error: 'EtlRunFailed',
      cause: 'A step failed after its retries',
    });
    const record = new tasks.LambdaInvoke(this, 'RecordFailure', {
      lambdaFunction: recordFailure,
      payloadResponseOnly: true,
      resultPath: sfn.JsonPath.DISCARD,
    }).next(failed);
    const task = (name: string, fn: ServiceFunction) => {
      const invoke = new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
      });
      invoke.addRetry({
        errors: ['States.ALL'],
        interval: Duration.seconds(30),
        backoffRate: 2,
        maxAttempts: 2,
      });
      invoke.addCatch(record, { errors: ['States.ALL'], resultPath: '$.error' });
      return invoke;
    };
    const prepare = new sfn.Pass(this, 'Prepare', {
      comment: 'The execution name is the run id; the input may name the date (default: yesterday)',
      parameters: { 'runId.$': '$$.Execution.Name', 'input.$': '$' },
    });
    this.stateMachine = new sfn.StateMachine(this, 'Pipeline', {
      stateMachineName: `shop-${config.stage}-etl`,
      comment: 'Extract → Transform → Aggregate, one day of the shop into the lake',
      definitionBody: sfn.DefinitionBody.fromChainable(
        prepare
          .next(task('Extract', extract))
          .next(task('Transform', transform))
          .next(task('Aggregate', aggregate))
          .next(new sfn.Succeed(this, 'Done')),
      ),
      timeout: Duration.hours(2),
      tracingEnabled: true,
      logs: { destination: machineLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    this.schedule = new events.Rule(this, 'DailyRun', {
      description: 'Runs the ETL every day at 02:30 UTC for the previous day',
      schedule: events.Schedule.cron({ minute: '30', hour: '2' }),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({}) }),
      ],
    });

    this.runsApi = new ServiceFunction(this, 'EtlRunsApi', {
      entry: HANDLERS.etl.entry,
      service: 'etl',
      description: 'POST/GET /etl/runs, GET /etl/runs/{runId}',
      environment: {
        ETL_STATE_TABLE: this.stateTable.tableName,
        ETL_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
      },
    });
    grant(this.runsApi, ['dynamodb:GetItem'], [this.stateTable.tableArn]);
    grant(this.runsApi, ['dynamodb:Query'], [`${this.stateTable.tableArn}/index/byStarted`]);
    this.stateMachine.grantStartExecution(this.runsApi);
    // Invoked by the shop API (its routes live in the Services stack, which depends on this one).
    this.runsApi.addPermission('InvokeFromShopApi', {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: this.formatArn({ service: 'execute-api', resource: '*', resourceName: 'v1/*/etl/*' }),
    });
    this.functions = [extract, transform, aggregate, recordFailure, this.runsApi];

    if (aws) {
      const { glueDatabase, workgroup } = this.addCatalog(
        config,
        data,
        glueDatabaseName,
        workgroupName,
        aggregate,
      );
      this.glueDatabase = glueDatabase;
      this.workgroup = workgroup;
    }

    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: "Step Functions' X-Ray and log-delivery actions do not support resource-level permissions.",
    });
    for (const fn of [extract, transform, aggregate, recordFailure]) {
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason:
          'Invoking this step function, any version or alias of it (what CDK grants a LambdaInvoke task).',
      });
    }
  }

  /** Glue database and tables (partition projection) and the Athena workgroup with the report queries. */
  private addCatalog(
    config: ShopConfig,
    data: DataStack,
    databaseName: string,
    workgroupName: string,
    aggregate: ServiceFunction,
  ) {
    const { curated, analytics } = data.lake;
    const glueDatabase = new glue.CfnDatabase(this, 'LakeDatabase', {
      catalogId: this.account,
      databaseInput: { name: databaseName, description: 'The shop data lake: curated and analytics zones' },
    });
    const table = (
      name: string,
      bucket: s3.IBucket,
      prefix: string,
      columns: readonly (readonly [string, ParquetType])[],
    ) => {
      const location = `s3://${bucket.bucketName}/${prefix}/`;
      const created = new glue.CfnTable(
        this,
        `Table${name.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase())}`,
        {
          catalogId: this.account,
          databaseName,
          tableInput: {
            name,
            tableType: 'EXTERNAL_TABLE',
            parameters: {
              classification: 'parquet',
              'projection.enabled': 'true',
              'projection.dt.type': 'date',
              'projection.dt.format': 'yyyy-MM-dd',
              'projection.dt.range': '2024-01-01,NOW',
              'projection.dt.interval': '1',
              'projection.dt.interval.unit': 'DAYS',
              'storage.location.template': `${location}dt=\${dt}/`,
            },
            partitionKeys: [{ name: 'dt', type: 'string' }],
            storageDescriptor: {
              location,
              inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
              outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
              serdeInfo: {
                serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
              },
              columns: columns
                .filter(([c]) => c !== 'dt')
                .map(([c, type]) => ({ name: c, type: GLUE_TYPES[type] })),
            },
          },
        },
      );
      created.node.addDependency(glueDatabase);
      return created;
    };
    const tables = [
      ...Object.entries(CURATED_SCHEMAS).map(([name, columns]) =>
        table(`curated_${name}`, curated, name, columns),
      ),
      ...Object.entries(REPORT_SQL).map(([name, spec]) =>
        table(`analytics_${name}`, analytics, name, spec.columns),
      ),
    ];

    const results = new s3.Bucket(this, 'AthenaResults', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.DESTROY,
      lifecycleRules: [{ id: 'expire-results', expiration: Duration.days(7) }],
    });
    Validations.of(results).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Athena query results only, expired after 7 days; queries are audited in CloudTrail.',
    });
    const workgroup = new athena.CfnWorkGroup(this, 'Workgroup', {
      name: workgroupName,
      description: 'Shop lake ETL aggregates and ad-hoc queries',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${results.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    for (const [name, spec] of Object.entries(REPORT_SQL)) {
      const query = new athena.CfnNamedQuery(
        this,
        `Query${name.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase())}`,
        {
          name: `${name} (yesterday)`,
          description: `The ${name} aggregate the ETL runs, for yesterday's orders`,
          database: databaseName,
          workGroup: workgroupName,
          queryString: spec
            .sql(['__DT__'])
            .replace("'__DT__'", "cast(current_date - interval '1' day as varchar)"),
        },
      );
      query.node.addDependency(workgroup);
      query.node.addDependency(glueDatabase);
    }

    // Least privilege for the aggregate on Athena: this workgroup, this database and its tables, the results bucket.
    grant(
      aggregate,
      ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
      [this.formatArn({ service: 'athena', resource: 'workgroup', resourceName: workgroupName })],
    );
    grant(
      aggregate,
      ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      [
        this.formatArn({ service: 'glue', resource: 'catalog' }),
        this.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
        ...tables.map((t) =>
          this.formatArn({
            service: 'glue',
            resource: 'table',
            resourceName: `${databaseName}/${t.tableInput && (t.tableInput as glue.CfnTable.TableInputProperty).name}`,
          }),
        ),
      ],
    );
    grant(aggregate, ['s3:GetBucketLocation', 's3:ListBucket'], [results.bucketArn]);
    grant(
      aggregate,
      ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      [results.arnForObjects('*')],
    );
    Validations.of(aggregate).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(results.node.defaultChild as CfnElement)}.Arn>/*]`,
      reason: 'Athena writes result objects it names per query under the workgroup results bucket.',
    });
    void config;
    return { glueDatabase, workgroup };
  }
}

/** Exactly these actions on these resources, readable from the function's policy. */
function grant(fn: lambda.Function, actions: string[], resources: string[]): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
}

/** Write access to one lake zone: list, read, write and delete (staging is removed after a publish). */
type Zone = 'raw' | 'curated' | 'analytics';

function grantZoneWrite(fn: lambda.Function, bucketArn: string): void {
  grant(fn, ['s3:ListBucket'], [bucketArn]);
  grant(fn, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [`${bucketArn}/*`]);
}

/**
 * Adds the ETL routes to the shop API. The methods live in the Services stack (so its deployment
 * includes them) and point at the runs function by ARN; the Services stack depends on this one,
 * never the reverse, and the invoke permission is granted here.
 */
export function addEtlRoutes(services: ServicesStack, etl: EtlStack): void {
  etl.runsApi.servesApi();
  const fn = lambda.Function.fromFunctionAttributes(services, 'EtlRunsApiFunction', {
    functionArn: etl.runsApi.functionArn,
    sameEnvironment: true,
    skipPermissions: true,
  });
  services.routesFor('etl', fn, { handler: etl.runsApi });
}
