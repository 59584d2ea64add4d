import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { dynamoDocumentClient, s3Client } from '../../shared/adapters/aws-clients.ts';
import { postgresPool } from '../../shared/adapters/postgres.ts';
import { openApiDocument } from '../../shared/api/openapi.ts';
import { requireEnv } from '../../shared/config.ts';
import { checkHealth } from '../../shared/health.ts';
import { json } from '../../shared/http/response.ts';
import { routes } from '../../shared/http/router.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';

const catalogTable = requireEnv('CATALOG_TABLE');
const lakeBucket = requireEnv('LAKE_RAW_BUCKET');
let document: ReturnType<typeof openApiDocument> | undefined;

export const handler = httpHandler(
  routes('health', {
    /** `GET /health`: 200 when DynamoDB, S3 and Postgres all answer, 503 naming the one that did not. */
    'GET /health': async () => {
      const report = await checkHealth({
        dynamodb: () => dynamoDocumentClient().send(new DescribeTableCommand({ TableName: catalogTable })),
        s3: () => s3Client().send(new HeadBucketCommand({ Bucket: lakeBucket })),
        postgres: async () => (await postgresPool()).query('select 1'),
      });
      return json(report.status === 'ok' ? 200 : 503, report);
    },
    /** `GET /openapi.json`: the API described from the route manifest. */
    'GET /openapi.json': async () => {
      document ??= openApiDocument();
      return json(200, document);
    },
  }),
);
