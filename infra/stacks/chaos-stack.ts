import { Aws, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as fis from 'aws-cdk-lib/aws-fis';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { ShopConfig } from '../config.ts';
import { replicaArn } from '../constructs/consistency-lab.ts';
import type { ServiceFunction } from '../constructs/service-function.ts';
import type { DataStack } from './data-stack.ts';
import type { DatabaseStack } from './database-stack.ts';
import type { ObservabilityStack } from './observability-stack.ts';

/** Where FIS writes the faults for its Lambda extension to read (a folder of the configs bucket). */
const CONFIG_PREFIX = 'FisConfigs/';

/** The FIS Lambda extension for arm64, as AWS publishes it (a public SSM parameter per region). */
const FIS_EXTENSION_PARAMETER = '/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x';

/**
 * The configs bucket's name, built from the stage, account and region rather than referenced, so the
 * functions (Services stack) can point at it without the Services stack depending on this one.
 */
export const fisConfigBucketName = (config: ShopConfig) =>
  `shop-${config.stage}-fis-configs-${Aws.ACCOUNT_ID}-${Aws.REGION}`;

/** The fault configurations' ARN pattern, and the cdk-nag finding its wildcard raises. */
const configObjects = (config: ShopConfig) =>
  `arn:${Aws.PARTITION}:s3:::${fisConfigBucketName(config)}/${CONFIG_PREFIX}*`;
const configObjectsFinding = (config: ShopConfig) =>
  `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::shop-${config.stage}-fis-configs-<AWS::AccountId>-<AWS::Region>/${CONFIG_PREFIX}*]`;

/**
 * Prepares a function for the `aws:lambda:invocation-*` FIS actions: the AWS-managed FIS extension as
 * a layer, the exec wrapper that lets it intercept invocations, where it polls for faults, and read
 * access there. Only with `-c chaos=true`: without an experiment running, the extension passes every
 * invocation through.
 *
 * @see https://docs.aws.amazon.com/fis/latest/userguide/use-lambda-actions.html
 */
export function prepareForFisLambdaActions(fn: ServiceFunction, config: ShopConfig): void {
  const bucket = fisConfigBucketName(config);
  const layerArn = ssm.StringParameter.valueForStringParameter(Stack.of(fn), FIS_EXTENSION_PARAMETER);
  fn.addLayers(lambda.LayerVersion.fromLayerVersionArn(fn, 'FisExtension', layerArn));
  fn.addEnvironment('AWS_FIS_CONFIGURATION_LOCATION', `arn:${Aws.PARTITION}:s3:::${bucket}/${CONFIG_PREFIX}`);
  fn.addEnvironment('AWS_LAMBDA_EXEC_WRAPPER', '/opt/aws-fis/bootstrap');
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [`arn:${Aws.PARTITION}:s3:::${bucket}`],
      conditions: { StringLike: { 's3:prefix': [`${CONFIG_PREFIX}*`] } },
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [configObjects(config)],
    }),
  );
  if (fn.role) {
    Validations.of(fn.role).acknowledge({
      id: configObjectsFinding(config),
      reason:
        'The FIS extension reads whichever fault configuration FIS writes under FisConfigs/ (chaos only).',
    });
  }
}

export interface ChaosStackProps extends StackProps {
  readonly config: ShopConfig;
  readonly data: DataStack;
  readonly database: DatabaseStack;
  readonly observability: ObservabilityStack;
  /** The functions the Lambda experiments target (prepared with {@link prepareForFisLambdaActions}). */
  readonly functions: ServiceFunction[];
}

/**
 * The AWS side of `npm run chaos`: AWS FIS experiment templates for the faults the local harness
 * injects, deployed only with `-c chaos=true` (target `aws`). Each stops itself when an alarm it must
 * not trip goes off (events dead-lettered, the database running out of connections).
 *
 * | template                  | action                              | what it checks                                  |
 * | ------------------------- | ----------------------------------- | ----------------------------------------------- |
 * | `lambda-invocation-errors` | `aws:lambda:invocation-error`, 25 % of the API functions' invocations for 5 min | clients retry with their Idempotency-Key; nothing is done twice |
 * | `lambda-invocation-delay`  | `aws:lambda:invocation-add-delay`, 3 s on half of them for 5 min | deadlines hold below API Gateway's 29 s |
 * | `database-reboot-failover` | `aws:rds:reboot-db-instances` (failover in prod, Multi-AZ) | pools reconnect; requests answer 503, then recover |
 *
 * Start one with `aws fis start-experiment --experiment-template-id <id>` (ids are stack outputs).
 */
export class ChaosStack extends Stack {
  readonly role: iam.Role;
  /** Where FIS leaves the faults for the Lambda extension (`FisConfigs/`). */
  readonly configBucket: s3.Bucket;
  readonly templates: Record<string, fis.CfnExperimentTemplate> = {};

  constructor(scope: Construct, id: string, props: ChaosStackProps) {
    super(scope, id, props);
    const { config, data, database, observability, functions } = props;

    this.configBucket = new s3.Bucket(this, 'FisConfigs', {
      bucketName: fisConfigBucketName(config),
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: data.accessLogs,
      serverAccessLogsPrefix: 'fis-configs/',
      removalPolicy: RemovalPolicy.DESTROY,
      // FIS deletes a configuration when its experiment ends; a day is the safety net.
      lifecycleRules: [{ id: 'expire-fault-configs', expiration: Duration.days(1), prefix: CONFIG_PREFIX }],
    });

    this.role = new iam.Role(this, 'ExperimentRole', {
      assumedBy: new iam.ServicePrincipal('fis.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'What the shop FIS experiments may do: fault the API functions, reboot the database',
    });
    const functionArns = functions.map((fn) => fn.functionArn);
    this.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:GetFunction'], resources: functionArns }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:DeleteObject'],
        resources: [configObjects(config)],
      }),
    );
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['tag:GetResources'], resources: ['*'] }));
    Validations.of(this.role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'FIS resolves experiment targets with tag:GetResources, which has no resource-level permissions.',
      },
      {
        id: configObjectsFinding(config),
        reason: 'FIS writes and deletes fault configurations under FisConfigs/ whose names it chooses.',
      },
    );

    const stopConditions = observability.alarms
      .filter((alarm) => ['DeadLetters', 'DatabaseConnections'].includes(alarm.node.id))
      .map((alarm: cloudwatch.Alarm) => ({ source: 'aws:cloudwatch:alarm', value: alarm.alarmArn }));
    const lambdaTargets = {
      Functions: { resourceType: 'aws:lambda:function', resourceArns: functionArns, selectionMode: 'ALL' },
    };
    const template = (
      name: string,
      description: string,
      action: fis.CfnExperimentTemplate.ExperimentTemplateActionProperty,
      targets: Record<string, fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty>,
    ) => {
      this.templates[name] = new fis.CfnExperimentTemplate(this, name, {
        description,
        roleArn: this.role.roleArn,
        stopConditions: stopConditions.length ? stopConditions : [{ source: 'none' }],
        targets,
        actions: { inject: action },
        tags: { Name: `shop-${config.stage}-${name}` },
      });
    };

    const lambdaExperiments: [string, string, string, Record<string, string>][] = [
      [
        'lambda-invocation-errors',
        'Fails 25% of the API functions invocations for 5 minutes',
        'aws:lambda:invocation-error',
        { invocationPercentage: '25', preventExecution: 'true' },
      ],
      [
        'lambda-invocation-delay',
        'Delays half of the API functions invocations by 3 s for 5 minutes',
        'aws:lambda:invocation-add-delay',
        { invocationPercentage: '50', startupDelayMilliseconds: '3000' },
      ],
    ];
    for (const [name, what, actionId, parameters] of lambdaExperiments) {
      template(
        name,
        what,
        { actionId, parameters: { duration: 'PT5M', ...parameters }, targets: { Functions: 'Functions' } },
        lambdaTargets,
      );
    }
    if (database.instance) {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['rds:RebootDBInstance', 'rds:DescribeDBInstances'],
          resources: [database.instance.instanceArn],
        }),
      );
      template(
        'database-reboot-failover',
        config.stage === 'prod'
          ? 'Reboots the Postgres instance with a failover to its standby'
          : 'Reboots the Postgres instance (single-AZ in dev: no standby to fail over to)',
        {
          actionId: 'aws:rds:reboot-db-instances',
          parameters: { forceFailover: config.stage === 'prod' ? 'true' : 'false' },
          targets: { DBInstances: 'Instances' },
        },
        {
          Instances: {
            resourceType: 'aws:rds:db',
            resourceArns: [database.instance.instanceArn],
            selectionMode: 'ALL',
          },
        },
      );
    }
    if (config.globalTableReplica) {
      // FIS pauses replication by attaching a resource policy that denies DynamoDB's replication
      // role, and removes it when the action ends.
      this.role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'dynamodb:PutResourcePolicy',
            'dynamodb:DeleteResourcePolicy',
            'dynamodb:GetResourcePolicy',
            'dynamodb:DescribeTable',
          ],
          resources: [data.labTable.tableArn, replicaArn(data, config.globalTableReplica)],
        }),
      );
      template(
        'global-table-pause-replication',
        `Pauses the lab global table's replication between ${config.region} and ${config.globalTableReplica} for up to 5 min (the lab stops it after its partition)`,
        {
          actionId: 'aws:dynamodb:global-table-pause-replication',
          parameters: { duration: 'PT5M' },
          targets: { Tables: 'Tables' },
        },
        {
          Tables: {
            resourceType: 'aws:dynamodb:global-table',
            resourceArns: [data.labTable.tableArn],
            selectionMode: 'ALL',
          },
        },
      );
    }
  }
}

/**
 * The Name tags of the templates the consistency lab starts, by role: the lab looks the ids up by
 * tag at run time (`tag:<Name>`), so the Services stack does not depend on this one.
 */
export const labFaultTemplateTags = (config: ShopConfig) => ({
  failover: `tag:shop-${config.stage}-database-reboot-failover`,
  ...(config.globalTableReplica
    ? { partition: `tag:shop-${config.stage}-global-table-pause-replication` }
    : {}),
});
