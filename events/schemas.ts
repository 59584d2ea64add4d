import { z } from 'zod';

/**
 * The shop's integration events, version 1. Every event travels on the shop bus as an EventBridge
 * event whose `source` names the producing service, `detail-type` names the event, and `detail`
 * holds the payload below; `detail.schemaVersion` lets consumers accept old and new shapes side by
 * side when a schema changes (add a `…V2` schema, never change a published one).
 *
 * @example
 * const detail = InventoryChangedV1.parse(event.detail);
 */

export const SOURCES = {
  catalog: 'shop.catalog',
  inventory: 'shop.inventory',
  orders: 'shop.orders',
} as const;

const meta = {
  schemaVersion: z.literal(1),
  /** Unique per event; consumers use it to recognise a redelivery. */
  eventId: z.uuid(),
  occurredAt: z.iso.datetime(),
};

const productId = z.string().min(1).max(64);
const orderLine = z.object({
  productId,
  quantity: z.int().min(1),
  unitPriceCents: z.int().min(0),
});
export const REGIONS = ['eu', 'us', 'ap'] as const;

/** A product was created or changed in the catalog. */
export const ProductUpsertedV1 = z.object({
  ...meta,
  productId,
  name: z.string(),
  category: z.string(),
  priceCents: z.int().min(0),
  currency: z.string().length(3),
  version: z.int().min(1),
});

/**
 * The authoritative stock of a product changed in Postgres. `version` grows with every change of
 * that product's stock, so a consumer can ignore anything older than what it has applied.
 */
export const InventoryChangedV1 = z.object({
  ...meta,
  productId,
  stock: z.int().min(0),
  version: z.int().min(1),
  reason: z.enum(['SET', 'ORDER_PLACED', 'ORDER_CANCELLED']),
  orderId: z.uuid().optional(),
});

/** An order was placed (stock already taken in the same transaction). */
export const OrderPlacedV1 = z.object({
  ...meta,
  orderId: z.uuid(),
  userId: z.string().min(1),
  region: z.enum(REGIONS),
  items: z.array(orderLine).min(1),
  totalCents: z.int().min(0),
  createdAt: z.iso.datetime(),
});

/** An order was cancelled (stock given back in the same transaction). */
export const OrderCancelledV1 = z.object({
  ...meta,
  orderId: z.uuid(),
  userId: z.string().min(1),
  region: z.enum(REGIONS),
  items: z.array(orderLine).min(1),
  cancelledAt: z.iso.datetime(),
});

/** Every event: its source, detail-type and detail schema. */
export const EVENTS = {
  ProductUpserted: { source: SOURCES.catalog, schema: ProductUpsertedV1 },
  InventoryChanged: { source: SOURCES.inventory, schema: InventoryChangedV1 },
  OrderPlaced: { source: SOURCES.orders, schema: OrderPlacedV1 },
  OrderCancelled: { source: SOURCES.orders, schema: OrderCancelledV1 },
} as const;

export type EventName = keyof typeof EVENTS;
export type EventDetail<N extends EventName> = z.infer<(typeof EVENTS)[N]['schema']>;

/** What a producer hands to the publisher: the name and the detail without the generated meta fields. */
export type NewEvent<N extends EventName = EventName> = {
  [K in N]: { name: K; detail: Omit<EventDetail<K>, 'schemaVersion' | 'eventId' | 'occurredAt'> };
}[N];

/** Completes a new event with its meta fields and checks it against its schema. */
export function buildEvent<N extends EventName>(
  event: NewEvent<N>,
  now = new Date(),
): { name: N; source: string; detail: EventDetail<N> } {
  const spec = EVENTS[event.name];
  const detail = spec.schema.parse({
    schemaVersion: 1,
    eventId: crypto.randomUUID(),
    occurredAt: now.toISOString(),
    ...event.detail,
  }) as EventDetail<N>;
  return { name: event.name as N, source: spec.source, detail };
}
