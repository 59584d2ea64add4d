import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/*
 * One client of each kind per process, created on first use and reused by warm invocations.
 * Endpoints come from the SDK's own configuration (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3, …),
 * which is how LocalStack and the embedded local cloud point functions at their emulators.
 */
let documentClient: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;
let secrets: SecretsManagerClient | undefined;

export function dynamoDocumentClient(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function s3Client(): S3Client {
  s3 ??= new S3Client({ forcePathStyle: process.env.AWS_S3_FORCE_PATH_STYLE === 'true' });
  return s3;
}

export function secretsManagerClient(): SecretsManagerClient {
  secrets ??= new SecretsManagerClient({});
  return secrets;
}
