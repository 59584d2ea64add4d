import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsTimeouts } from '../../budget.ts';
import { tracer } from '../../observability.ts';
import { tagDependency } from './dependencies.ts';

/*
 * Every AWS SDK client of the process comes from here: one of each kind, created on first use and
 * reused by warm invocations, each with
 * - a connect and a request (socket idle) timeout and a bounded number of attempts, all derived from
 *   the request budget (`shared/budget.ts`), so a frozen or unreachable service fails fast instead
 *   of holding the request until API Gateway's 29 s;
 * - its errors tagged with the dependency's name, which the HTTP error handler turns into
 *   503 DEPENDENCY_UNAVAILABLE;
 * - X-Ray tracing of each call (Powertools tracer; a no-op where tracing is off).
 * Endpoints come from the SDK's own configuration (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3, …),
 * which is how LocalStack and the embedded local cloud point functions at their emulators.
 */

/** The dependency names the API reports in `{"error":"DEPENDENCY_UNAVAILABLE","dependency":…}`. */
export type AwsDependency = 'dynamodb' | 's3' | 'eventbridge' | 'secretsmanager' | 'stepfunctions' | 'athena';

interface SdkClient {
  middlewareStack: { add: (middleware: never, options: { step: 'initialize'; name: string }) => void };
}

/**
 * The configuration every client starts from: timeouts and attempts from the budget, plus `extra`.
 *
 * @example
 * new DynamoDBClient(awsClientConfig({ region: 'eu-west-1' }));
 */
export function awsClientConfig<T extends object>(extra: T = {} as T, budgetMs?: number) {
  const t = awsTimeouts(budgetMs);
  return {
    maxAttempts: t.maxAttempts,
    ...extra,
    requestHandler: {
      connectionTimeout: t.connectMs,
      requestTimeout: t.requestMs,
      // Without it, recent SDKs only log a warning when the request timeout passes.
      throwOnRequestTimeout: true,
      ...(extra as { requestHandler?: object }).requestHandler,
    },
  };
}

/**
 * Tags a client's errors with its dependency name and traces its calls.
 *
 * @example
 * const s3 = instrument('s3', new S3Client(awsClientConfig()));
 */
export function instrument<C extends SdkClient>(dependency: AwsDependency, client: C): C {
  client.middlewareStack.add(
    ((next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      try {
        return await next(args);
      } catch (error) {
        throw tagDependency(error, dependency);
      }
    }) as never,
    { step: 'initialize', name: 'shopDependencyTag' },
  );
  return tracer.captureAWSv3Client(client);
}

const clients = new Map<string, unknown>();

/** One client per name and process, made by `create` on first use. */
function cached<C>(name: string, create: () => C): C {
  let client = clients.get(name) as C | undefined;
  if (!client) {
    client = create();
    clients.set(name, client);
  }
  return client;
}

/** The DynamoDB client (for Powertools' persistence layer and raw AttributeValue calls). */
export const dynamoClient = () =>
  cached('dynamodb', () => instrument('dynamodb', new DynamoDBClient(awsClientConfig())));

/** The DynamoDB document client: plain JavaScript values in and out. */
export const dynamoDocumentClient = () =>
  cached('dynamodb-document', () =>
    DynamoDBDocumentClient.from(dynamoClient(), { marshallOptions: { removeUndefinedValues: true } }),
  );

export const s3Client = () =>
  cached('s3', () =>
    instrument(
      's3',
      new S3Client(awsClientConfig({ forcePathStyle: process.env.AWS_S3_FORCE_PATH_STYLE === 'true' })),
    ),
  );

export const eventBridgeClient = () =>
  cached('eventbridge', () => instrument('eventbridge', new EventBridgeClient(awsClientConfig())));

export const secretsManagerClient = () =>
  cached('secretsmanager', () => instrument('secretsmanager', new SecretsManagerClient(awsClientConfig())));

/** Step Functions (the ETL runs API starts executions; AWS_ENDPOINT_URL_SFN locally). */
export const sfnClient = () =>
  cached('sfn', () => instrument('stepfunctions', new SFNClient(awsClientConfig())));

/** Athena (the ETL's aggregate step on AWS). */
export const athenaClient = () =>
  cached('athena', () => instrument('athena', new AthenaClient(awsClientConfig())));
