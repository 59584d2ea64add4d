import type { z } from 'zod';
import { CartLineInput } from '../cart/domain.ts';
import { GetProductQuery, ListProductsQuery, ProductInput } from '../catalog/domain.ts';
import { ExperimentRequest } from '../lab/domain/parameters.ts';
import { PlaceOrderInput, SetStockInput } from '../orders/domain.ts';
import {
  ApiError,
  Caller,
  Cart,
  EtlRun,
  EtlRunList,
  EtlRunListQuery,
  EtlRunStarted,
  Experiment,
  ExperimentListQuery,
  ExperimentPage,
  ExperimentQueued,
  Health,
  OpenApiDocument,
  Order,
  OrderListQuery,
  OrderPage,
  Product,
  ProductPage,
  StartEtlRun,
  Stock,
} from './schemas.ts';

/**
 * The API's one route manifest. The Services stack creates exactly these methods (`routesFor`),
 * each function's router serves exactly its own (`routes(handlerId, …)` refuses to load otherwise),
 * `docs/openapi.json` and `GET /openapi.json` are generated from it, and `test/infra/routes.test.ts`
 * checks the synthesized template against it.
 */

/** The functions that serve API routes, by handler id. */
export const HANDLERS = {
  health: { entry: 'functions/platform/health.ts' },
  me: { entry: 'functions/platform/me.ts' },
  catalog: { entry: 'functions/catalog/api.ts' },
  cart: { entry: 'functions/cart/api.ts' },
  orders: { entry: 'functions/orders/api.ts' },
  lab: { entry: 'functions/consistency/api.ts' },
  etl: { entry: 'functions/etl/runs-api.ts' },
} as const;
export type HandlerId = keyof typeof HANDLERS;

/** Who may call: anyone, any signed-in user (bearer JWT), or a user in the `admin` group. */
export type Auth = 'public' | 'user' | 'admin';

/** Request headers a route reads, documented as parameters. */
export const HEADERS = {
  'Idempotency-Key': 'Makes a retried write take effect once (1–128 visible ASCII characters)',
  'If-Match': 'The cart version the write expects (`"3"`); 412 when it changed',
  'x-consistency-token': 'From a previous write: read at least that write (read-your-writes)',
} as const;
export type HeaderName = keyof typeof HEADERS;

export interface RouteResponse {
  readonly description: string;
  readonly schema?: z.ZodType;
}

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly auth: Auth;
  readonly handler: HandlerId;
  readonly operationId: string;
  readonly summary: string;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Whether the body may be left out (`POST /etl/runs`). */
  readonly bodyOptional?: boolean;
  readonly headers?: readonly { readonly name: HeaderName; readonly required: boolean }[];
  /** Success answers by status; the error answers (4xx/5xx, {@link ApiError}) are added for every route. */
  readonly responses: Readonly<Record<number, RouteResponse>>;
}

const idempotencyKey = (required: boolean) => ({ name: 'Idempotency-Key', required }) as const;
const ifMatch = { name: 'If-Match', required: false } as const;
const consistencyToken = { name: 'x-consistency-token', required: false } as const;

export const ROUTES = [
  {
    method: 'GET',
    path: '/health',
    auth: 'public',
    handler: 'health',
    operationId: 'getHealth',
    summary: 'Whether DynamoDB, S3 and Postgres answer (503 naming the one that does not)',
    responses: {
      200: { description: 'All dependencies answer', schema: Health },
      503: { description: 'A dependency does not answer: the report names it', schema: Health },
    },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    auth: 'public',
    handler: 'health',
    operationId: 'getOpenApi',
    summary: 'This API as an OpenAPI 3.1 document',
    responses: { 200: { description: 'The OpenAPI document', schema: OpenApiDocument } },
  },
  {
    method: 'GET',
    path: '/me',
    auth: 'user',
    handler: 'me',
    operationId: 'getMe',
    summary: 'The caller as the API sees them',
    responses: { 200: { description: 'The caller', schema: Caller } },
  },
  {
    method: 'GET',
    path: '/products',
    auth: 'public',
    handler: 'catalog',
    operationId: 'listProducts',
    summary: 'Products sorted by name, a page at a time (optionally one category)',
    query: ListProductsQuery,
    responses: { 200: { description: 'One page', schema: ProductPage } },
  },
  {
    method: 'POST',
    path: '/products',
    auth: 'admin',
    handler: 'catalog',
    operationId: 'createProduct',
    summary: 'Creates a product, announced with ProductUpserted',
    body: ProductInput,
    headers: [idempotencyKey(false)],
    responses: { 201: { description: 'The product', schema: Product } },
  },
  {
    method: 'GET',
    path: '/products/{productId}',
    auth: 'public',
    handler: 'catalog',
    operationId: 'getProduct',
    summary: 'A product; eventually consistent unless consistent=true',
    query: GetProductQuery,
    responses: { 200: { description: 'The product', schema: Product } },
  },
  {
    method: 'PUT',
    path: '/products/{productId}',
    auth: 'admin',
    handler: 'catalog',
    operationId: 'replaceProduct',
    summary: "Replaces a product's fields, announced with ProductUpserted",
    body: ProductInput,
    responses: { 200: { description: 'The product', schema: Product } },
  },
  {
    method: 'GET',
    path: '/cart',
    auth: 'user',
    handler: 'cart',
    operationId: 'getCart',
    summary: "The caller's cart (ETag: its version)",
    responses: { 200: { description: 'The cart', schema: Cart } },
  },
  {
    method: 'DELETE',
    path: '/cart',
    auth: 'user',
    handler: 'cart',
    operationId: 'clearCart',
    summary: "Empties the caller's cart",
    headers: [ifMatch],
    responses: { 204: { description: 'Emptied' } },
  },
  {
    method: 'PUT',
    path: '/cart/items/{productId}',
    auth: 'user',
    handler: 'cart',
    operationId: 'setCartLine',
    summary: "Sets a line's quantity at the catalog's current price",
    body: CartLineInput,
    headers: [ifMatch],
    responses: { 200: { description: 'The cart', schema: Cart } },
  },
  {
    method: 'DELETE',
    path: '/cart/items/{productId}',
    auth: 'user',
    handler: 'cart',
    operationId: 'removeCartLine',
    summary: 'Removes a line',
    headers: [ifMatch],
    responses: { 200: { description: 'The cart', schema: Cart } },
  },
  {
    method: 'POST',
    path: '/orders',
    auth: 'user',
    handler: 'orders',
    operationId: 'placeOrder',
    summary: "Checkout: the caller's cart becomes an order, once per Idempotency-Key",
    body: PlaceOrderInput,
    headers: [idempotencyKey(true)],
    responses: { 201: { description: 'The order (a replay answers the first one)', schema: Order } },
  },
  {
    method: 'GET',
    path: '/orders',
    auth: 'user',
    handler: 'orders',
    operationId: 'listOrders',
    summary: "The caller's orders, newest first (from the read replica)",
    query: OrderListQuery,
    headers: [consistencyToken],
    responses: { 200: { description: 'One page', schema: OrderPage } },
  },
  {
    method: 'GET',
    path: '/orders/{orderId}',
    auth: 'user',
    handler: 'orders',
    operationId: 'getOrder',
    summary: "One of the caller's orders (404 for anyone else's)",
    headers: [consistencyToken],
    responses: { 200: { description: 'The order', schema: Order } },
  },
  {
    method: 'POST',
    path: '/orders/{orderId}/cancel',
    auth: 'user',
    handler: 'orders',
    operationId: 'cancelOrder',
    summary: 'Cancels an order, giving its stock back (twice: 409)',
    responses: { 200: { description: 'The cancelled order', schema: Order } },
  },
  {
    method: 'PUT',
    path: '/inventory/{productId}',
    auth: 'admin',
    handler: 'orders',
    operationId: 'setStock',
    summary: 'Sets the authoritative stock of a product (Postgres)',
    body: SetStockInput,
    responses: { 200: { description: 'The stock', schema: Stock } },
  },
  {
    method: 'POST',
    path: '/consistency/experiments',
    auth: 'user',
    handler: 'lab',
    operationId: 'startExperiment',
    summary: 'Runs a consistency experiment (201 with its report) or queues a long one (202)',
    body: ExperimentRequest,
    responses: {
      201: { description: 'The report', schema: Experiment },
      202: { description: 'Queued for the runner', schema: ExperimentQueued },
    },
  },
  {
    method: 'GET',
    path: '/consistency/experiments',
    auth: 'user',
    handler: 'lab',
    operationId: 'listExperiments',
    summary: 'Past experiments, newest first',
    query: ExperimentListQuery,
    responses: { 200: { description: 'One page', schema: ExperimentPage } },
  },
  {
    method: 'GET',
    path: '/consistency/experiments/{experimentId}',
    auth: 'user',
    handler: 'lab',
    operationId: 'getExperiment',
    summary: 'An experiment: its report once done, its status until then',
    responses: { 200: { description: 'The experiment', schema: Experiment } },
  },
  {
    method: 'POST',
    path: '/etl/runs',
    auth: 'admin',
    handler: 'etl',
    operationId: 'startEtlRun',
    summary: 'Starts the ETL pipeline for a day (default yesterday)',
    body: StartEtlRun,
    bodyOptional: true,
    responses: { 202: { description: 'Started', schema: EtlRunStarted } },
  },
  {
    method: 'GET',
    path: '/etl/runs',
    auth: 'admin',
    handler: 'etl',
    operationId: 'listEtlRuns',
    summary: 'The latest ETL runs, newest first',
    query: EtlRunListQuery,
    responses: { 200: { description: 'The runs', schema: EtlRunList } },
  },
  {
    method: 'GET',
    path: '/etl/runs/{runId}',
    auth: 'admin',
    handler: 'etl',
    operationId: 'getEtlRun',
    summary: 'An ETL run: status and per-stage counts',
    responses: { 200: { description: 'The run', schema: EtlRun } },
  },
] as const satisfies readonly RouteSpec[];

export type Route = (typeof ROUTES)[number];

/** `METHOD /path` of the routes a handler serves. */
export type RouteKey<H extends HandlerId = HandlerId> =
  Extract<Route, { handler: H }> extends infer R
    ? R extends { method: infer M extends string; path: infer P extends string }
      ? `${M} ${P}`
      : never
    : never;

export const routeKey = (route: Pick<RouteSpec, 'method' | 'path'>) => `${route.method} ${route.path}`;

/** The routes one handler serves. */
export const routesOf = (handler: HandlerId): RouteSpec[] => ROUTES.filter((r) => r.handler === handler);

export { ApiError };
