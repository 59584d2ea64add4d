import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '../../shared/middleware/http-handler.ts';
import { relayOutbox } from '../../shared/orders/adapters/orders-db.ts';

/**
 * Scheduled every minute: publishes outbox events that the request path did not manage to send
 * (for example because the function died right after its commit). Drains in batches of 100.
 */
export const handler = middy(async (): Promise<{ published: number }> => {
  let published = 0;
  for (let batch = await relayOutbox(); batch > 0; batch = await relayOutbox()) published += batch;
  if (published) logger.info('outbox relayed', { published });
  return { published };
}).use(injectLambdaContext(logger));
