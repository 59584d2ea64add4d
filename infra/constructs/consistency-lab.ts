import { Aws, CfnParameter, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events_ from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { HANDLERS } from '../../shared/api/routes.ts';
import { EXPERIMENT_REQUESTED, LAB_PRODUCT_PREFIX } from '../../shared/lab/domain/constants.ts';
import type { ShopConfig } from '../config.ts';
import { labFaultTemplateTags } from '../stacks/chaos-stack.ts';
import type { DataStack } from '../stacks/data-stack.ts';
import type { DatabaseStack } from '../stacks/database-stack.ts';
import type { ServicesStack } from '../stacks/services-stack.ts';
import { grantTable } from './grants.ts';
import { ServiceFunction } from './service-function.ts';

export interface ConsistencyLabProps {
  readonly config: ShopConfig;
  /** The stack whose API serves the lab's routes and whose alarms cover its functions. */
  readonly services: ServicesStack;
  readonly data: DataStack;
  readonly database: DatabaseStack;
  readonly bus: events_.IEventBus;
  /** Retry and dead-letter settings of the shop's rule targets. */
  readonly eventTarget: targets.LambdaFunctionProps;
}

/**
 * The consistency lab: `POST/GET /consistency/experiments` and `GET /consistency/experiments/{id}`
 * (function `ConsistencyApi`), and the `ConsistencyRunner` that runs experiments too long for the API
 * (a rule on `ConsistencyExperimentRequested`). Both run experiments, so both get the same access:
 *
 * - the `ConsistencyLab` table and its `byGroup` index (the lab's own items);
 * - the catalog table, only for items whose key begins `PRODUCT#lab-` (the projection-lag product);
 * - the shop bus (the outbox relay of projection-lag; the API also queues runs);
 * - Postgres (lab tables, the reports, and the lab product's inventory row).
 *
 * `SHOP_TARGET` tells the functions which target they run on, so reports can say what that engine
 * can and cannot show.
 */
export class ConsistencyLab extends Construct {
  readonly api: ServiceFunction;
  readonly runner: ServiceFunction;

  constructor(scope: Construct, id: string, props: ConsistencyLabProps) {
    super(scope, id);
    const { config, services, data, database, bus } = props;
    const environment = {
      CONSISTENCY_LAB_TABLE: data.labTable.tableName,
      CATALOG_TABLE: data.catalogTable.tableName,
      EVENT_BUS_NAME: bus.eventBusName,
      SHOP_TARGET: config.target,
      // The lab's workers open their own pool; the function's shared pool serves reports and setStock.
      DB_POOL_MAX: '2',
      // The FIS experiment templates failover and partition start (the local cloud serves the FIS API
      // on its own fault kinds under these ids; see local/faults/experiments.ts).
      ...(config.target === 'local'
        ? {
            LAB_FAULT_TEMPLATES: JSON.stringify(LOCAL_FAULT_TEMPLATES),
            // The partition scenario's two regions (DynamoDB endpoints, Postgres URLs), from the local cloud.
            LAB_REGIONS: new CfnParameter(Stack.of(this), 'LabRegions', {
              type: 'String',
              noEcho: true,
              default: '',
              description: 'The lab regions eu and us (JSON), filled in by the local cloud; empty: none',
            }).valueAsString,
          }
        : {}),
      ...awsLabFaults(this, config, data),
    };
    const chaos = [true, 'true'].includes(this.node.tryGetContext('chaos'));
    const lab = (fnId: string, props: { entry: string; description: string; timeout: Duration }) => {
      const fn = new ServiceFunction(this, fnId, {
        ...props,
        service: 'consistency',
        memorySize: 1024,
        environment,
        ...database.networking,
      });
      grantTable(fn, data.labTable, LAB_TABLE_ACTIONS, ['byGroup']);
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
          resources: [data.catalogTable.tableArn],
          conditions: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`PRODUCT#${LAB_PRODUCT_PREFIX}*`] },
          },
        }),
      );
      bus.grantPutEventsTo(fn);
      database.grantConnect(fn);
      database.grantReaderConnect(fn);
      database.grantReplicationModel(fn);
      if (config.target === 'aws' && chaos) grantLabFaults(fn);
      if (config.globalTableReplica) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
            resources: [replicaArn(data, config.globalTableReplica)],
          }),
        );
      }
      services.functions.push(fn); // alarms and dashboard
      return fn;
    };

    this.api = lab('ConsistencyApi', {
      entry: HANDLERS.lab.entry,
      description: 'POST/GET /consistency/experiments, GET /consistency/experiments/{experimentId}',
      // API Gateway gives up at 29 s; runs estimated beyond 20 s go to the runner.
      timeout: Duration.seconds(29),
    });
    this.runner = lab('ConsistencyRunner', {
      entry: 'functions/consistency/runner.ts',
      description: 'ConsistencyExperimentRequested → run the experiment and store its report',
      timeout: Duration.minutes(15),
    });

    services.routesFor('lab', this.api);

    new events_.Rule(this, 'ExperimentRequestedToRunner', {
      eventBus: bus,
      description: 'Runs consistency experiments too long for the API',
      eventPattern: { source: [EXPERIMENT_REQUESTED.source], detailType: [EXPERIMENT_REQUESTED.detailType] },
      targets: [new targets.LambdaFunction(this.runner, props.eventTarget)],
    });
  }
}

/**
 * On AWS: the FIS templates the lab starts (`-c chaos=true`, looked up by their Name tag) and the
 * regions of the partition scenario (`-c globalTableReplica=<region>`: the lab table's replicas; the
 * one Postgres primary serves both).
 */
function awsLabFaults(scope: Construct, config: ShopConfig, data: DataStack): Record<string, string> {
  if (config.target !== 'aws') return {};
  const chaos = [true, 'true'].includes(scope.node.tryGetContext('chaos'));
  return {
    ...(chaos ? { LAB_FAULT_TEMPLATES: JSON.stringify(labFaultTemplateTags(config)) } : {}),
    ...(config.globalTableReplica
      ? {
          LAB_REGIONS: Stack.of(scope).toJsonString({
            table: data.labTable.tableName,
            postgresHome: 'eu',
            regions: {
              eu: { dynamodbRegion: config.region },
              us: { dynamodbRegion: config.globalTableReplica },
            },
          }),
        }
      : {}),
  };
}

/** The ARN of the lab table's replica in `region` (`TableV2.replica()` may be called once only). */
export const replicaArn = (data: DataStack, region: string) =>
  Stack.of(data).formatArn({
    service: 'dynamodb',
    region,
    resource: 'table',
    resourceName: data.labTable.tableName,
  });

/** What the lab needs to start, watch and stop the FIS experiments of the Chaos stack. */
function grantLabFaults(fn: ServiceFunction): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [
        'fis:StartExperiment',
        'fis:GetExperiment',
        'fis:StopExperiment',
        'fis:ListExperimentTemplates',
      ],
      resources: [
        `arn:${Aws.PARTITION}:fis:${Aws.REGION}:${Aws.ACCOUNT_ID}:experiment-template/*`,
        `arn:${Aws.PARTITION}:fis:${Aws.REGION}:${Aws.ACCOUNT_ID}:experiment/*`,
      ],
    }),
  );
  if (fn.role) {
    Validations.of(fn.role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:fis:<AWS::Region>:<AWS::AccountId>:experiment-template/*]',
        reason:
          'The lab starts the Chaos stack templates, found by tag; their ids are not known to this stack.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:fis:<AWS::Region>:<AWS::AccountId>:experiment/*]',
        reason: 'Experiment ids are chosen by FIS when the lab starts one.',
      },
    );
  }
}

/** The local cloud's FIS templates for the lab's fault scenarios, by role. */
export const LOCAL_FAULT_TEMPLATES = {
  failover: 'local-failover',
  synchronous: 'local-synchronous-replication',
  lag: 'local-replication-lag',
  partition: 'local-partition-regions',
} as const;

/** What experiments do to lab items: single-item reads and writes, transactions, batch cleanup, index queries. */
const LAB_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:Query',
];
