import { cpSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import esbuild from 'esbuild';
import { budgetForTimeout } from '../../shared/budget.ts';
import { readConfig } from '../config.ts';

/** Repository root: entries are given relative to it, e.g. `functions/platform/health.ts`. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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
   * Modules left out of the bundle (native modules, optional peers).
   * @default ['pg-native']
   */
  readonly externalModules?: string[];
}

/** The esbuild options of every bundle: one minified ESM file for Node 24, source maps, AWS SDK included. */
function buildOptions(entry: string, outfile: string, external: string[]): esbuild.BuildOptions {
  return {
    entryPoints: [path.join(PROJECT_ROOT, entry)],
    outfile,
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external,
    // Some dependencies are CommonJS and call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'error',
  };
}

/**
 * A Lambda function with the house defaults:
 * Node.js 24 on arm64 (the app's `architecture` setting: the host's on LocalStack), one ESM bundle built by esbuild (source maps on, AWS SDK bundled so the
 * version that is tested is the version that runs), X-Ray tracing, JSON logs with a retention,
 * 256 MB and 10 s unless told otherwise.
 *
 * Bundling runs esbuild's API in the synth process (tens of milliseconds a function), with the same
 * build as a Docker fallback for machines where local bundling is impossible.
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

  /** Marks the function as serving API Gateway: its request budget stays below the 29 s integration timeout. */
  servesApi(): void {
    this.addEnvironment('REQUEST_BUDGET_MS', String(budgetForTimeout(this.timeoutMs, { api: true })));
  }

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const { entry, service, logRetention, copyIntoBundle, externalModules, environment, handler, ...rest } =
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
    const external = externalModules ?? ['pg-native'];
    const copies = copyIntoBundle ?? [];
    const dockerBuild = [
      `npx esbuild ${entry} --bundle --platform=node --target=node24 --format=esm --minify --sourcemap`,
      '--main-fields=module,main --outfile=/asset-output/index.mjs',
      ...external.map((m) => `--external:${m}`),
      ...copies.map(
        (rel) => `&& mkdir -p /asset-output/${path.posix.dirname(rel)} && cp -R ${rel} /asset-output/${rel}`,
      ),
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
      architecture:
        readConfig(scope).architecture === 'x86_64' ? lambda.Architecture.X86_64 : lambda.Architecture.ARM_64,
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
              esbuild.buildSync(buildOptions(entry, path.join(outputDir, 'index.mjs'), external));
              for (const rel of copies) {
                cpSync(path.join(PROJECT_ROOT, rel), path.join(outputDir, rel), { recursive: true });
              }
              return true;
            },
          },
        },
      }),
    });
    this.node.addMetadata('shop:service', service);
    this.timeoutMs = timeout.toMilliseconds();
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
