import {
  AssetHashType,
  CfnOutput,
  CfnParameter,
  DockerImage,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct, IConstruct } from 'constructs';
import { contentSecurityPolicy, WEB_ROOT, writeConsoleSync } from '../../web/build.ts';
import type { ShopConfig } from '../config.ts';
import type { Shop } from '../shop.ts';

export interface WebStackProps extends StackProps {
  readonly config: ShopConfig;
}

/** Name of the stack parameter that gives the API its console's origin where there is no Web stack. */
export const CONSOLE_ORIGIN_PARAMETER = 'ConsoleOrigin';

/** Headers the console sends to the API besides the CORS-safelisted ones. */
const ALLOWED_HEADERS = ['Content-Type', 'Authorization', 'If-Match', 'Idempotency-Key'];

/**
 * The web console on AWS: a private S3 bucket read by CloudFront through origin access control,
 * HTTPS only, security headers from a response headers policy, and the built SPA (`web/`) deployed
 * into it. The API's address and Cognito settings reach the console as `/config.json`, written by
 * {@link connectWebConsole} (the API's stack depends on this one, never the reverse).
 *
 * `target=aws` only: the local cloud serves the console itself, and LocalStack Community has no
 * CloudFront.
 */
export class WebStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly headers: cloudfront.ResponseHeadersPolicy;
  /** `https://<distribution domain>`: the one origin the API allows. */
  readonly origin: string;
  /** Export of the site bucket's ARN, imported by the stack that writes `/config.json`. */
  readonly bucketArnExport: string;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    const prod = props.config.stage === 'prod';
    const removal = prod
      ? { removalPolicy: RemovalPolicy.RETAIN }
      : { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true };

    // Access logs of the site bucket and the distribution. CloudFront's standard logs need ACLs.
    const logs = new s3.Bucket(this, 'Logs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      ...removal,
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Site', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'site/',
      ...removal,
    });

    this.bucketArnExport = `${props.config.prefix}-ConsoleBucketArn`;
    new CfnOutput(this, 'SiteBucketArn', { value: this.bucket.bucketArn, exportName: this.bucketArnExport });

    this.headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Serverless shop console: CSP, HSTS, no framing, no sniffing',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          // The API and Cognito live in this region; their exact hosts are not known to this stack.
          contentSecurityPolicy: contentSecurityPolicy([
            `https://*.execute-api.${this.region}.amazonaws.com`,
            `https://*.auth.${this.region}.amazoncognito.com`,
          ]),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          preload: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: {
          referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
          override: true,
        },
        xssProtection: { protection: true, modeBlock: true, override: true },
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Serverless shop console (${props.config.stage})`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headers,
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: 'cloudfront/',
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'A shop console is for everyone: no country is blocked.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'Static files only, cached at the edge; the API behind it has its own throttling. Add a WAF web ACL for production traffic.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate cannot pin a minimum TLS version; give the distribution a custom domain and certificate to require TLSv1.2_2021.',
      },
    );

    // The built console: hashed files cached for a year, index.html revalidated on every load.
    const site = s3deploy.Source.asset(WEB_ROOT, {
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24'),
        command: ['sh', '-c', 'echo "the web console is built locally with esbuild" && exit 1'],
        local: {
          tryBundle(outputDir: string) {
            writeConsoleSync(outputDir);
            return true;
          },
        },
      },
    });
    new s3deploy.BucketDeployment(this, 'Assets', {
      sources: [site],
      include: ['assets/*'],
      exclude: ['*'],
      destinationBucket: this.bucket,
      prune: false,
      cacheControl: [s3deploy.CacheControl.fromString('public, max-age=31536000, immutable')],
    });
    new s3deploy.BucketDeployment(this, 'Index', {
      sources: [site],
      include: ['index.html'],
      exclude: ['*'],
      destinationBucket: this.bucket,
      prune: false,
      cacheControl: [s3deploy.CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/'],
    });
    acknowledgeBucketDeployment(
      this,
      `<${this.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`,
    );
    new CfnOutput(this, 'ConsoleUrl', { value: this.origin, description: 'The web console' });
  }
}

/**
 * cdk-nag findings of the BucketDeployment provider function (AWS-maintained, one per stack): its
 * policy, written by CDK, grants object wildcards on the CDK asset bucket and on the console bucket
 * (`siteObjects`, as cdk-nag renders it), and invalidations on any distribution.
 */
function acknowledgeBucketDeployment(stack: Stack, siteObjects: string): void {
  const wildcard =
    "CDK's BucketDeployment copies from the CDK asset bucket into the console bucket and invalidates the distribution: its generated policy uses object and action wildcards on exactly those.";
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
    Validations.of(child).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "The deployment function's AWS-managed policy only allows writing its logs.",
      },
      {
        id: 'AwsSolutions-L1',
        reason: "CDK's BucketDeployment provider (AWS CLI on Python) pins its own runtime.",
      },
      ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: wildcard,
      })),
      ...[
        '*',
        // As cdk-nag renders the asset bucket: the stack's own partition and region when the app sets one.
        Token.isUnresolved(stack.region)
          ? 'arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*'
          : `arn:${Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition}:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${stack.region}/*`,
        siteObjects,
      ].map((resource) => ({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason: wildcard })),
    );
  }
}

/** The API's allowed origin in `scope`'s stack: the Web stack's on AWS, a stack parameter elsewhere. */
function consoleOrigin(scope: IConstruct, web: WebStack | undefined): string {
  if (web) return web.origin;
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(CONSOLE_ORIGIN_PARAMETER) as CfnParameter | undefined;
  return (
    existing ??
    new CfnParameter(stack, CONSOLE_ORIGIN_PARAMETER, {
      type: 'String',
      default: 'http://127.0.0.1:3001',
      description: 'Origin of the web console the API allows (CORS); the local cloud fills in its own',
    })
  ).valueAsString;
}

/**
 * Connects the API and its console: CORS limited to the console's origin (the preflight on every
 * resource, the header on every route function's answers and on the gateway's own errors), and on
 * AWS a Cognito hosted-UI client and domain for the console plus its `/config.json`.
 * Call it after every route has been added.
 */
export function connectWebConsole(shop: Shop, config: ShopConfig): WebStack | undefined {
  const { services } = shop;
  const web =
    config.target === 'aws'
      ? new WebStack(services.node.root as Construct, `${config.prefix}-Web`, {
          config,
          ...(config.region ? { env: { region: config.region } } : {}),
          description: `Serverless shop (${config.stage}, target ${config.target}): web console (S3, CloudFront)`,
        })
      : undefined;
  const origin = consoleOrigin(services, web);
  const api = services.api;
  for (const resource of api.node.findAll()) {
    if (!(resource instanceof apigw.Resource) && resource !== api.root) continue;
    const preflight = (resource as apigw.IResource).addCorsPreflight({
      allowOrigins: [origin],
      allowHeaders: ALLOWED_HEADERS,
      allowMethods: ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
      maxAge: Duration.hours(1),
    });
    Validations.of(preflight).acknowledge(
      { id: 'AwsSolutions-APIG4', reason: 'CORS preflights carry no credentials by definition.' },
      { id: 'AwsSolutions-COG4', reason: 'CORS preflights carry no credentials by definition.' },
    );
  }
  const allowOrigin = { 'Access-Control-Allow-Origin': `'${origin}'`, Vary: "'Origin'" };
  api.addGatewayResponse('Default4xx', {
    type: apigw.ResponseType.DEFAULT_4XX,
    responseHeaders: allowOrigin,
  });
  api.addGatewayResponse('Default5xx', {
    type: apigw.ResponseType.DEFAULT_5XX,
    responseHeaders: allowOrigin,
  });
  const routeFunctions = [...services.routeFunctions, ...(shop.etl ? [shop.etl.runsApi] : [])];
  for (const fn of routeFunctions) {
    if (fn instanceof lambda.Function) fn.addEnvironment('CORS_ALLOW_ORIGIN', consoleOrigin(fn, web));
  }

  if (web && services.userPool) {
    const domain = services.userPool.addDomain('ConsoleDomain', {
      cognitoDomain: { domainPrefix: `shop-${config.stage}-${services.account}` },
    });
    const client = services.userPool.addClient('ConsoleClient', {
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [`${web.origin}/`],
        logoutUrls: [`${web.origin}/`],
      },
      idTokenValidity: Duration.hours(1),
      preventUserExistenceErrors: true,
    });
    new s3deploy.BucketDeployment(services, 'ConsoleConfig', {
      sources: [
        s3deploy.Source.jsonData('config.json', {
          apiUrl: api.url,
          mode: 'aws',
          cognito: { domain: domain.baseUrl(), clientId: client.userPoolClientId, region: services.region },
        }),
      ],
      // Imported by a named export, so that cdk-nag's finding on it has a stable name.
      destinationBucket: s3.Bucket.fromBucketArn(
        services,
        'ConsoleBucket',
        Fn.importValue(web.bucketArnExport),
      ),
      prune: false,
      cacheControl: [s3deploy.CacheControl.noCache()],
      distribution: web.distribution,
      distributionPaths: ['/config.json'],
    });
    services.addStackDependency(web);
    acknowledgeBucketDeployment(services, `${web.bucketArnExport}/*`);
  }
  return web;
}
