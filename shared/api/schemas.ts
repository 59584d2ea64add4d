import { z } from 'zod';
import { CursorTimestamp, keysetCursor } from '../http/cursor.ts';
import { UUID } from '../ids.ts';
import { SCENARIOS } from '../lab/domain/limits.ts';
import { REGIONS } from '../orders/domain.ts';

/**
 * The API's wire shapes that are not a domain's input: list queries, and the bodies the routes
 * answer with. They document the API (`docs/openapi.json`) and parse the queries the handlers read;
 * responses are built by the services and described here, not re-validated on the way out.
 */

/** `GET /orders?limit=&cursor=`. */
export const OrderListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

/** `GET /orders`' cursor: the last order of a page (`c`: its creation time to the microsecond, `o`: its id). */
export const OrderCursor = keysetCursor(z.object({ c: CursorTimestamp, o: z.string().regex(UUID) }), {
  toKey: ({ c, o }) => ({ createdAt: c, orderId: o }),
  toWire: ({ createdAt, orderId }: { createdAt: string; orderId: string }) => ({ c: createdAt, o: orderId }),
});

/** `GET /consistency/experiments?limit=&scenario=&cursor=`. */
export const ExperimentListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  scenario: z.enum(SCENARIOS).optional(),
  cursor: z.string().max(512).optional(),
});

/** `POST /etl/runs`: the day to process (default yesterday, UTC). */
export const StartEtlRun = z.object({
  date: z.iso
    .date()
    .optional()
    .transform((date) => date ?? new Date(Date.now() - 86_400_000).toISOString().slice(0, 10))
    .describe('The day to process (YYYY-MM-DD); yesterday (UTC) when left out'),
});
export type StartEtlRun = z.infer<typeof StartEtlRun>;

/** `GET /etl/runs?limit=`. */
export const EtlRunListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) });

const timestamp = z.string().describe('ISO 8601 timestamp');
const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** Every 4xx/5xx answer: a code, a message, and the fields at fault (`body.quantity`, `query.limit`, …). */
export const ApiError = z.object({
  error: z.string().describe('Machine-readable code, e.g. VALIDATION_FAILED, NOT_FOUND'),
  message: z.string(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  dependency: z.string().optional().describe('On 503 DEPENDENCY_UNAVAILABLE: which one'),
});

export const Product = z.object({
  productId: z.string(),
  name: z.string(),
  description: z.string().optional(),
  category: z.string(),
  priceCents: z.int(),
  currency: z.string(),
  available: z.int(),
  version: z.int(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const ProductPage = page(Product);

export const Cart = z.object({
  items: z.array(z.object({ productId: z.string(), quantity: z.int(), priceCents: z.int() })),
  totalCents: z.int(),
  version: z.int(),
});

export const Order = z.object({
  orderId: z.uuid(),
  status: z.enum(['PLACED', 'CANCELLED']),
  items: z.array(z.object({ productId: z.string(), quantity: z.int(), unitPriceCents: z.int() })),
  totalCents: z.int(),
  region: z.enum(REGIONS),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const OrderPage = page(Order);

export const Stock = z.object({ productId: z.string(), stock: z.int() });

export const Experiment = z.looseObject({
  experimentId: z.uuid(),
  scenario: z.enum(SCENARIOS),
  status: z.string(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  requestedAt: timestamp.optional(),
});
export const ExperimentQueued = z.object({
  experimentId: z.uuid(),
  status: z.literal('queued'),
  estimatedSeconds: z.int(),
});
export const ExperimentPage = page(Experiment);

export const EtlRun = z.looseObject({
  runId: z.string(),
  date: z.iso.date(),
  status: z.string(),
  startedAt: timestamp,
  finishedAt: timestamp.optional(),
  stages: z.record(z.string(), z.record(z.string(), z.unknown())),
});
export const EtlRunStarted = z.object({
  runId: z.string(),
  date: z.iso.date(),
  executionArn: z.string(),
  status: z.literal('RUNNING'),
});
export const EtlRunList = z.object({ runs: z.array(EtlRun) });

export const Health = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.record(
    z.string(),
    z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }),
  ),
});

export const Caller = z.object({ userId: z.string(), groups: z.array(z.string()), isAdmin: z.boolean() });

/** `GET /openapi.json` answers an OpenAPI 3.1 document. */
export const OpenApiDocument = z.looseObject({
  openapi: z.string(),
  info: z.record(z.string(), z.unknown()),
});
