import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { Probe } from '../health.ts';
import { dynamoDocumentClient, s3Client } from './aws-clients.ts';
import { postgresPool } from './postgres.ts';

/**
 * The probes behind `GET /health`: one cheap call to each store the shop depends on.
 *
 * @example
 * const report = await checkHealth(storeProbes({ table: 'Catalog', bucket: 'lake-raw' }));
 */
export function storeProbes({ table, bucket }: { table: string; bucket: string }): Record<string, Probe> {
  return {
    dynamodb: () => dynamoDocumentClient().send(new DescribeTableCommand({ TableName: table })),
    s3: () => s3Client().send(new HeadBucketCommand({ Bucket: bucket })),
    postgres: async () => (await postgresPool()).query('select 1'),
  };
}
