import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { OrderPlacedV1 } from '../../events/schemas.ts';
import { removeOrderedLines } from '../../shared/cart/adapters/cart-table.ts';
import { logger, tracer } from '../../shared/middleware/http-handler.ts';

/**
 * EventBridge target for `OrderPlaced`: removes the ordered lines from the buyer's cart, as they were
 * when the order was placed (a line changed later stays). An invalid event throws, so EventBridge
 * retries it and then dead-letters it; a redelivered event finds nothing left to remove.
 */
export const handler = middy(async (event: EventBridgeEvent<'OrderPlaced', unknown>) => {
  const parsed = OrderPlacedV1.safeParse(event.detail);
  if (!parsed.success) {
    logger.error('invalid OrderPlaced event', { eventId: event.id, issues: parsed.error.issues });
    throw new Error(`Invalid OrderPlaced event ${event.id}: ${parsed.error.message}`);
  }
  const order = parsed.data;
  const removed = await removeOrderedLines(order.userId, order);
  logger.info('cart updated for placed order', {
    orderId: order.orderId,
    eventId: order.eventId,
    userId: order.userId,
    removed,
    // Already gone (e.g. a redelivery) or changed after the order was placed.
    notRemoved: order.items.map((item) => item.productId).filter((id) => !removed.includes(id)),
  });
})
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { logEvent: false }));
