import { openApiDocument } from '../../shared/api/openapi.ts';
import { requireEnv } from '../../shared/config.ts';
import { json } from '../../shared/http/response.ts';
import { routes } from '../../shared/http/router.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';
import { storeProbes } from '../../shared/platform/adapters/health-probes.ts';
import { checkHealth } from '../../shared/platform/health.ts';

const catalogTable = requireEnv('CATALOG_TABLE');
const lakeBucket = requireEnv('LAKE_RAW_BUCKET');
let document: ReturnType<typeof openApiDocument> | undefined;

export const handler = httpHandler(
  routes('health', {
    /** `GET /health`: 200 when DynamoDB, S3 and Postgres all answer, 503 naming the one that did not. */
    'GET /health': async () => {
      const report = await checkHealth(storeProbes({ table: catalogTable, bucket: lakeBucket }));
      return json(report.status === 'ok' ? 200 : 503, report);
    },
    /** `GET /openapi.json`: the API described from the route manifest. */
    'GET /openapi.json': async () => {
      document ??= openApiDocument();
      return json(200, document);
    },
  }),
);
