import { cpSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { budgetForTimeout } from '../../shared/budget.ts';
import { readConfig } from '../config.ts';
import { dockerCommand, PROJECT_ROOT, writeBundle } from './bundles.ts';
import { installNodeModules, lambdaPlatform } from './node-modules.ts';

export { PROJECT_ROOT };

export interface ServiceFunctionProps extends Omit<lambda.FunctionOptions, 'architecture'> {
  /** Handler file, relative to the repository root (e.g. `functions/platform/health.ts`). */
  readonly entry: string;
  /**
   * Exported handler name.
   * @default 'handler'
   */
  readonly handler?: string;
  /** Logical service the function belongs to; becomes `POWERTOOLS_SERVICE_NAME`. */
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
  /**
   * Packages installed in the asset's `node_modules` (they are external to the bundle, see
   * bundles.ts): native modules, with the prebuilt binary of the function's architecture (see
   * {@link installNodeModules}).
   * @default - none
   */
  readonly nodeModules?: string[];
}

/**
 * A Lambda function with the house defaults:
 * Node.js 24 on arm64 (the app's `architecture` setting: the host's on LocalStack and local), one ESM bundle built by esbuild (source maps on, AWS SDK bundled so the
 * version that is tested is the version that runs), X-Ray tracing, JSON logs with a retention,
 * 256 MB and 10 s unless told otherwise.
 *
 * Bundling (infra/constructs/bundles.ts): one esbuild call in the synth process builds every handler
 * under functions/ and each function's asset takes its own file, with the same build of one entry as
 * a Docker fallback for machines where local bundling is impossible.
 *
 * @example
 * new ServiceFunction(this, 'Health', {
 *   entry: 'functions/platform/health.ts',
 *   service: 'platform',
 *   environment: { TABLE_NAME: table.tableName },
 * });
 */
export class ServiceFunction extends lambda.Function {
  /** The function's timeout in milliseconds. */
  readonly timeoutMs: number;

  /** Its handler file (an entry of the one bundle build, bundles.ts). */
  readonly entry: string;

  /** Marks the function as serving API Gateway: its request budget stays below the 29 s integration timeout. */
  servesApi(): void {
    this.addEnvironment('REQUEST_BUDGET_MS', String(budgetForTimeout(this.timeoutMs, { api: true })));
  }

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const { entry, service, logRetention, copyIntoBundle, nodeModules, environment, handler, ...rest } =
      props;
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
    const installs = nodeModules ?? [];
    const { architecture } = readConfig(scope);
    const platform = lambdaPlatform(architecture);
    const version = (name: string) =>
      (
        JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    const dockerBuild = [
      dockerCommand(entry),
      ...copies.map(
        (rel) => `&& mkdir -p /asset-output/${path.posix.dirname(rel)} && cp -R ${rel} /asset-output/${rel}`,
      ),
      ...(installs.length
        ? [
            `&& cd /asset-output && npm install --no-save --no-package-lock --os=${platform.os} --cpu=${platform.cpu}`,
            `--libc=${platform.libc} ${installs.map((m) => `${m}@${version(m)}`).join(' ')}`,
          ]
        : []),
    ].join(' ');
    const timeout = rest.timeout ?? Duration.seconds(10);
    super(scope, id, {
      memorySize: 256,
      timeout,
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      ...rest,
      handler: `index.${handler ?? 'handler'}`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: architecture === 'x86_64' ? lambda.Architecture.X86_64 : lambda.Architecture.ARM_64,
      environment: {
        POWERTOOLS_SERVICE_NAME: service,
        POWERTOOLS_METRICS_NAMESPACE: 'Shop',
        NODE_OPTIONS: '--enable-source-maps',
        // Every dependency timeout is derived from it (shared/budget.ts); API routes lower it below 29 s.
        REQUEST_BUDGET_MS: String(budgetForTimeout(timeout.toMilliseconds(), { api: false })),
        ...environment,
      },
      code: lambda.Code.fromAsset(PROJECT_ROOT, {
        // The asset is what the bundle contains, not the whole repository.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          image: lambda.Runtime.NODEJS_24_X.bundlingImage,
          // Also what tells bundles apart in CDK's bundling cache.
          command: ['bash', '-c', dockerBuild],
          local: {
            tryBundle(outputDir: string) {
              writeBundle(entry, outputDir);
              for (const rel of copies) {
                cpSync(path.join(PROJECT_ROOT, rel), path.join(outputDir, rel), { recursive: true });
              }
              if (installs.length) {
                installNodeModules(outputDir, installs, platform, {
                  root: PROJECT_ROOT,
                  cacheDir: path.join(PROJECT_ROOT, '.local', 'node-modules-cache'),
                });
              }
              return true;
            },
          },
        },
      }),
    });
    this.node.addMetadata('shop:service', service);
    if (installs.length) this.node.addMetadata('shop:nodeModules', installs);
    this.timeoutMs = timeout.toMilliseconds();
    this.entry = entry;
    if (this.role) {
      const ack = (ruleId: string, reason: string) =>
        Validations.of(this.role as iam.IRole).acknowledge({ id: ruleId, reason });
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
