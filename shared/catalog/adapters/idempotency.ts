import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import { requireEnv } from '../../config.ts';
import { dynamoClient } from '../../platform/adapters/aws-clients.ts';
import { keyReused, type Product, requestInProgress } from '../domain.ts';
import type { CreateRequest, RequestRecords } from '../ports.ts';

/**
 * {@link RequestRecords} on Powertools idempotency: the result of a create is recorded in the
 * Idempotency table (`IDEMPOTENCY_TABLE`) for an hour, keyed by caller and key, with the input as
 * the payload a retry must repeat.
 */
const config = new IdempotencyConfig({
  eventKeyJmesPath: '[userId, key]',
  payloadValidationJmesPath: 'input',
  expiresAfterSeconds: 3600,
});

let recorded: ((request: CreateRequest, create: () => Promise<Product>) => Promise<Product>) | undefined;

/** The idempotent runner, made on first use (the table name is read then). */
function runOnce() {
  recorded ??= makeIdempotent(async (_request: CreateRequest, create: () => Promise<Product>) => create(), {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: requireEnv('IDEMPOTENCY_TABLE'),
      awsSdkV3Client: dynamoClient(),
    }),
    config,
  });
  return recorded;
}

/**
 * The request records for this invocation: with its Lambda `context`, an in-progress record expires
 * with the invocation, so a retry after a crash is not blocked for an hour.
 */
export function requestRecords(context?: Context): RequestRecords {
  if (context) config.registerLambdaContext(context);
  return {
    once: async (request, create) => {
      try {
        return await runOnce()(request, create);
      } catch (error) {
        if (error instanceof IdempotencyValidationError) throw keyReused();
        if (error instanceof IdempotencyAlreadyInProgressError) throw requestInProgress();
        throw error;
      }
    },
  };
}
