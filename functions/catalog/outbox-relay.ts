import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { relayCatalogOutbox } from '../../shared/catalog/adapters/catalog-table.ts';
import { logger } from '../../shared/observability.ts';

/**
 * Scheduled every minute: publishes catalog outbox events (ProductUpserted written in the same
 * transaction as their product) that the request path did not manage to send, e.g. because
 * EventBridge refused them or the function died after the write. Drains in batches of 25.
 */
export const handler = middy(async (): Promise<{ published: number }> => {
  let published = 0;
  for (let batch = await relayCatalogOutbox(); batch > 0; batch = await relayCatalogOutbox())
    published += batch;
  if (published) logger.info('catalog outbox relayed', { published });
  return { published };
}).use(injectLambdaContext(logger));
