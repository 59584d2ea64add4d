import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  CfnOutput,
  CfnParameter,
  CustomResource,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import type { ShopConfig } from '../config.ts';
import { PROJECT_ROOT, ServiceFunction, type ServiceFunctionProps } from '../constructs/service-function.ts';

export interface DatabaseStackProps extends StackProps {
  readonly config: ShopConfig;
}

/** Migrations, relative to the repository root; shipped inside the migration function's bundle. */
export const MIGRATIONS_DIR = 'shared/db/migrations';

/** Name of the CloudFormation parameter that carries the Postgres URL where RDS is not deployed. */
export const DATABASE_URL_PARAMETER = 'DatabaseUrl';

/** Name of the parameter that carries the read replica's URL where RDS is not deployed (empty: the primary). */
export const DATABASE_READER_URL_PARAMETER = 'DatabaseReaderUrl';

/** Name of the parameter that tells the lab which replica lag model the local cloud applies (empty: none known). */
export const REPLICATION_MODEL_PARAMETER = 'ReplicationModel';

/** Output naming the migration function, on targets where the deploy command invokes it. */
export const MIGRATE_FUNCTION_OUTPUT = 'MigrateFunctionName';

/** Network placement a function needs to reach the database (empty where there is no VPC). */
export type DatabaseNetworking = Pick<ServiceFunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>;

/**
 * The strongly consistent side of the shop: PostgreSQL.
 *
 * - `target=aws`: a VPC without NAT (isolated subnets, gateway endpoints for DynamoDB and S3, an
 *   interface endpoint for Secrets Manager), RDS PostgreSQL 18 with generated credentials in Secrets
 *   Manager, storage encrypted, IAM auth on; Multi-AZ, deletion protection and rotation in `prod`.
 * - `target=localstack|local`: RDS is not available, so functions read the connection URL from the
 *   `DatabaseUrl` stack parameter (the local cloud fills it in; LocalStack users pass it).
 *
 * A custom resource runs the project's migrations on every deploy that changes them. LocalStack
 * Community cannot run custom resources (they are Pro-only there), so on `target=localstack` the stack
 * instead outputs the migration function's name and `deploy-localstack.sh` invokes it after the deploy
 * (`scripts/migrate-deployed.ts`).
 */
export class DatabaseStack extends Stack {
  readonly vpc?: ec2.Vpc;
  readonly instance?: rds.DatabaseInstance;
  /** The RDS read replica (`target=aws`, `prod`): where order history and the lab's replica reads go. */
  readonly readReplica?: rds.DatabaseInstanceReadReplica;
  /** Security group given to functions that talk to the database. */
  readonly clientSecurityGroup?: ec2.SecurityGroup;
  readonly migrate: ServiceFunction;
  /** Absent on `target=localstack` (no custom resources there): see {@link MIGRATE_FUNCTION_OUTPUT}. */
  readonly migrations?: CustomResource;
  private readonly parameters = new Map<string, CfnParameter>();

  constructor(scope: Construct, id: string, props: DatabaseStackProps) {
    super(scope, id, props);
    const { target, stage } = props.config;
    const prod = stage === 'prod';

    if (target === 'aws') {
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [
          { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        ],
        gatewayEndpoints: {
          DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
          S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        },
        flowLogs: {
          rejected: {
            destination: ec2.FlowLogDestination.toCloudWatchLogs(
              new logs.LogGroup(this, 'FlowLogs', {
                retention: logs.RetentionDays.ONE_MONTH,
                removalPolicy: RemovalPolicy.DESTROY,
              }),
            ),
            trafficType: ec2.FlowLogTrafficType.REJECT,
          },
        },
      });
      // Functions in isolated subnets reach these AWS APIs without a NAT gateway.
      for (const [name, service] of [
        ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
        ['EventBridge', ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE],
      ] as const) {
        const endpoint = this.vpc.addInterfaceEndpoint(name, { service });
        Validations.of(endpoint).acknowledge({
          id: 'AwsSolutions-EC23',
          reason:
            'The endpoint security group admits HTTPS from the VPC CIDR only (cdk-nag cannot resolve the CIDR token).',
        });
      }

      this.clientSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseClients', {
        vpc: this.vpc,
        description: 'Functions allowed to connect to the shop database',
      });
      const instanceIdentifier = `shop-${stage}`;
      // Created here (not by RDS on first write) so it has a retention and no LogRetention custom resource is needed.
      const postgresLogs = new logs.LogGroup(this, 'PostgresLogs', {
        logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.instance = new rds.DatabaseInstance(this, 'Postgres', {
        instanceIdentifier,
        engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_18_3 }),
        instanceType: ec2.InstanceType.of(
          ec2.InstanceClass.T4G,
          prod ? ec2.InstanceSize.MEDIUM : ec2.InstanceSize.MICRO,
        ),
        vpc: this.vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        credentials: rds.Credentials.fromGeneratedSecret('shop_admin'),
        databaseName: 'shop',
        port: 5432,
        storageEncrypted: true,
        storageType: rds.StorageType.GP3,
        allocatedStorage: 20,
        maxAllocatedStorage: prod ? 200 : 50,
        multiAz: prod,
        deletionProtection: prod,
        removalPolicy: prod ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
        backupRetention: Duration.days(prod ? 14 : 1),
        iamAuthentication: true,
        cloudwatchLogsExports: ['postgresql'],
        enablePerformanceInsights: prod,
        parameters: { 'rds.force_ssl': '1' },
      });
      this.instance.node.addDependency(postgresLogs);
      this.instance.connections.allowDefaultPortFrom(this.clientSecurityGroup, 'Shop functions');
      if (prod) this.instance.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });
      if (prod) {
        // An asynchronous streaming replica for reads that may lag (order history, the lab's replica
        // reads). Functions reach it with the primary's credentials: a replica has the same users.
        this.readReplica = new rds.DatabaseInstanceReadReplica(this, 'PostgresReader', {
          instanceIdentifier: `${instanceIdentifier}-reader`,
          sourceDatabaseInstance: this.instance,
          instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
          vpc: this.vpc,
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
          // Encrypted because its source is (CloudFormation refuses StorageEncrypted on a replica).
          storageType: rds.StorageType.GP3,
          deletionProtection: true,
          removalPolicy: RemovalPolicy.DESTROY,
          iamAuthentication: true,
          cloudwatchLogsExports: ['postgresql'],
          enablePerformanceInsights: true,
          parameterGroup: new rds.ParameterGroup(this, 'PostgresReaderParameters', {
            engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_18_3 }),
            parameters: { 'rds.force_ssl': '1' },
          }),
        });
        this.readReplica.connections.allowDefaultPortFrom(this.clientSecurityGroup, 'Shop functions (reads)');
      }
    }

    const migrate = new ServiceFunction(this, 'Migrate', {
      entry: 'functions/platform/migrate.ts',
      service: 'platform',
      description: 'Applies the shop database migrations (custom resource, or invoked by the deploy command)',
      timeout: Duration.minutes(5),
      copyIntoBundle: [MIGRATIONS_DIR],
      ...this.networking,
    });
    this.grantConnect(migrate);
    this.migrate = migrate;
    if (target === 'localstack') {
      new CfnOutput(this, MIGRATE_FUNCTION_OUTPUT, {
        value: migrate.functionName,
        description: 'Invoke after each deploy to apply the migrations (deploy-localstack.sh does)',
      });
      return;
    }
    this.migrations = new CustomResource(this, 'Migrations', {
      serviceToken: migrate.functionArn,
      resourceType: 'Custom::DatabaseMigrations',
      // A new hash when a migration file changes makes CloudFormation send an Update: migrations run again.
      properties: { MigrationsHash: hashMigrations() },
    });
    if (this.instance) this.migrations.node.addDependency(this.instance);
  }

  /** Subnets and security group a function needs to reach the database. */
  get networking(): DatabaseNetworking {
    if (!this.vpc || !this.clientSecurityGroup) return {};
    return {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.clientSecurityGroup],
    };
  }

  /**
   * Gives a function what it needs to open a connection: on AWS the secret's ARN (and read access to
   * it) plus TLS settings; elsewhere `DATABASE_URL` from the stack parameter of the function's stack.
   */
  grantConnect(fn: lambda.Function): void {
    if (this.instance?.secret) {
      this.instance.secret.grantRead(fn);
      fn.addEnvironment('DB_SECRET_ARN', this.instance.secret.secretArn);
      fn.addEnvironment('DB_SSL', 'verify-full');
      // Lambda's Node runtimes ship the RDS CA bundle here but do not load it unless asked.
      fn.addEnvironment('NODE_EXTRA_CA_CERTS', '/var/runtime/ca-cert.pem');
      return;
    }
    fn.addEnvironment('DATABASE_URL', this.databaseUrlParameter(Stack.of(fn)).valueAsString);
  }

  /**
   * Gives a function (that {@link grantConnect} already reaches the primary) a reader endpoint for
   * reads that may lag: on AWS `DB_READER_HOST`, the RDS read replica's address in `prod` (dev has
   * none: readers use the primary); elsewhere `DATABASE_READER_URL` from the `DatabaseReaderUrl`
   * stack parameter (the local cloud fills in its streaming standby; empty means the primary).
   */
  grantReaderConnect(fn: lambda.Function): void {
    if (this.instance) {
      if (this.readReplica) fn.addEnvironment('DB_READER_HOST', this.readReplica.dbInstanceEndpointAddress);
      return;
    }
    fn.addEnvironment(
      'DATABASE_READER_URL',
      this.parameter(Stack.of(fn), DATABASE_READER_URL_PARAMETER, {
        noEcho: true,
        default: '',
        description: 'PostgreSQL read replica URL for reads that may lag; empty: read from DatabaseUrl',
      }).valueAsString,
    );
  }

  /**
   * `REPLICATION_MODEL` for the consistency lab: the replica lag model the environment applies
   * (`ReplicationModel` parameter, filled in by the local cloud), so reports can show the PBS
   * prediction next to the measurement. On AWS nobody knows the model: the lab measures only.
   */
  grantReplicationModel(fn: lambda.Function): void {
    if (this.instance) return;
    fn.addEnvironment(
      'REPLICATION_MODEL',
      this.parameter(Stack.of(fn), REPLICATION_MODEL_PARAMETER, {
        default: '',
        description: 'Replica lag model of the local cloud (e.g. exp:20ms, off); empty: unknown',
      }).valueAsString,
    );
  }

  private databaseUrlParameter(stack: Stack): CfnParameter {
    return this.parameter(stack, DATABASE_URL_PARAMETER, {
      noEcho: true,
      description: 'PostgreSQL connection URL (postgres://user:password@host:port/db) for functions',
    });
  }

  /** One CfnParameter per stack and name, created on first use. */
  private parameter(
    stack: Stack,
    name: string,
    props: { noEcho?: boolean; default?: string; description: string },
  ): CfnParameter {
    const id = `${stack.node.addr}/${name}`;
    let parameter = this.parameters.get(id);
    if (!parameter) {
      parameter = new CfnParameter(stack, name, { type: 'String', ...props });
      this.parameters.set(id, parameter);
    }
    return parameter;
  }
}

function hashMigrations(): string {
  const dir = path.join(PROJECT_ROOT, MIGRATIONS_DIR);
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) {
    hash.update(file).update(readFileSync(path.join(dir, file)));
  }
  return hash.digest('hex').slice(0, 16);
}
