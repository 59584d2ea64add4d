import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { InventoryChangedV1 } from '../../events/schemas.ts';
import { applyStockChange } from '../../shared/catalog/adapters/catalog-table.ts';
import { logger } from '../../shared/middleware/http-handler.ts';

/**
 * EventBridge target for `InventoryChanged`: keeps the catalog's `available` in step with the
 * authoritative stock in Postgres. The write is conditional on the inventory version, so a
 * redelivered or out-of-order event changes nothing, and an event for a product the catalog does not
 * have is ignored; both are logged and end normally. An invalid detail throws, so EventBridge retries
 * it and finally dead-letters it where someone will look.
 */
export const handler = middy(async (event: EventBridgeEvent<'InventoryChanged', unknown>) => {
  const detail = InventoryChangedV1.parse(event.detail);
  const { productId, stock, version, eventId } = detail;
  const result = await applyStockChange({ productId, stock, version });
  switch (result.outcome) {
    case 'applied':
      logger.info('stock projected', { productId, stock, version, eventId });
      break;
    case 'stale':
      logger.info('stale inventory event ignored', {
        productId,
        version,
        currentVersion: result.currentVersion,
        eventId,
      });
      break;
    case 'unknown-product':
      logger.warn('inventory event for a product the catalog does not have', { productId, version, eventId });
      break;
  }
}).use(injectLambdaContext(logger, { logEvent: false }));
