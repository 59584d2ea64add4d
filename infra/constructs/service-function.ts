import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Repository root: entries are given relative to it, e.g. `functions/health/handler.ts`. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServiceFunctionProps
  extends Omit<nodejs.NodejsFunctionProps, 'entry' | 'runtime' | 'architecture' | 'handler'> {
  /** Handler file, relative to the repository root (e.g. `functions/health/handler.ts`). */
  readonly entry: string;
  /**
   * Exported handler name.
   * @default 'handler'
   */
  readonly handler?: string;
  /**
   * Logical service the function belongs to; becomes `POWERTOOLS_SERVICE_NAME`.
   */
  readonly service: string;
  /**
   * How long CloudWatch keeps the function's logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Extra files copied next to the bundle (relative to the repository root), e.g. SQL migrations.
   * Each is copied to the same relative path inside the asset.
   * @default - none
   */
  readonly copyIntoBundle?: string[];
}

/**
 * A Lambda function with the house defaults:
 * Node.js 24 on arm64, one ESM bundle built by esbuild (source maps on, AWS SDK bundled so the
 * version that is tested is the version that runs), X-Ray tracing, JSON logs with a retention,
 * 256 MB and 10 s unless told otherwise.
 *
 * @example
 * new ServiceFunction(this, 'Health', {
 *   entry: 'functions/health/handler.ts',
 *   service: 'platform',
 *   environment: { TABLE_NAME: table.tableName },
 * });
 */
export class ServiceFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const { entry, service, logRetention, copyIntoBundle, bundling, environment, ...rest } = props;
    if (!/^functions\/.+\.ts$/.test(entry)) {
      throw new Error(`ServiceFunction ${id}: entry must be a .ts file under functions/, got "${entry}"`);
    }
    if (rest.timeout && rest.timeout.toSeconds() > 900) {
      throw new Error(`ServiceFunction ${id}: timeout must be at most 15 minutes`);
    }
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const copies = copyIntoBundle ?? [];
    super(scope, id, {
      memorySize: 256,
      timeout: Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      ...rest,
      entry: path.join(PROJECT_ROOT, entry),
      handler: props.handler ?? 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: service,
        POWERTOOLS_METRICS_NAMESPACE: 'Shop',
        NODE_OPTIONS: '--enable-source-maps',
        ...environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        bundleAwsSDK: true,
        externalModules: ['pg-native'],
        // Some dependencies are CommonJS and call require(); give the ESM bundle one.
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        ...bundling,
        commandHooks: copies.length
          ? {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (inputDir: string, outputDir: string) =>
                copies.map(
                  (rel) =>
                    `mkdir -p "${outputDir}/${path.posix.dirname(rel)}" && cp -R "${inputDir}/${rel}" "${outputDir}/${rel}"`,
                ),
            }
          : bundling?.commandHooks,
      },
    });
    this.node.addMetadata('shop:service', service);
    if (this.role) {
      const ack = (id: string, reason: string) =>
        Validations.of(this.role as iam.IRole).acknowledge({ id, reason });
      ack(
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "The AWS-managed basic execution policy only allows writing this function's logs.",
      );
      ack(
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        "The AWS-managed VPC access policy is what Lambda needs to manage the function's network interfaces.",
      );
      ack(
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions.',
      );
    }
  }
}
