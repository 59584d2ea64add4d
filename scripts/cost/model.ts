/**
 * The cost model of `npm run cost`: measured quantities per operation (from a run on the local
 * cloud, see measure.ts) × a load (orders per day and a browse:cart:order mix) × the price table
 * (prices.json) → dollars per month per service. Pure arithmetic, unit-tested on fixed input.
 */
import type { ResultRow } from '../../shared/lab/domain/report.ts';
import pricesFile from './prices.json' with { type: 'json' };

export type Prices = typeof pricesFile;
export const PRICES: Prices = pricesFile;

/** What one operation (or one ETL run) used, averaged over the run that measured it. */
export interface Quantities {
  apiRequests: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  dynamoReadUnits: number;
  dynamoWriteUnits: number;
  /** PUT, COPY, POST and LIST requests. */
  s3WriteRequests: number;
  /** GET and HEAD requests. */
  s3ReadRequests: number;
  s3BytesWritten: number;
}

export const OPERATIONS = ['browse', 'cart', 'order'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface MeasuredRun {
  /** Where and when the quantities were measured. */
  source: string;
  /** How many of each operation the run performed (the divisor of its averages). */
  counts: Record<Operation | 'etl', number>;
  perOperation: Record<Operation, Quantities>;
  /** One daily ETL run, with `etlOrders` orders in its day. */
  perEtlRun: Quantities;
  etlOrders: number;
}

export interface Load {
  ordersPerDay: number;
  /** Operations per order: browse (product reads), cart (cart writes), order (checkouts = 1). */
  mix: Record<Operation, number>;
  stage: 'dev' | 'prod';
}

export interface Line {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  dollars: number;
}

export interface Estimate {
  load: Load;
  daysPerMonth: number;
  lines: Line[];
  byService: Record<string, number>;
  total: number;
  perThousandOrders: number;
}

/** The database each stage runs (infra/stacks/database-stack.ts). */
export const RDS_BY_STAGE = {
  dev: { instance: 'db.t4g.micro', multiAz: false, storageGb: 20 },
  prod: { instance: 'db.t4g.medium', multiAz: true, storageGb: 20 },
} as const;

export const DAYS_PER_MONTH = 365 / 12;

/** `browse:cart:order` → per order; the order part is scaled to 1. */
export function parseMix(text: string): Record<Operation, number> {
  const parts = text.split(':').map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n) || n < 0) || !parts[2])
    throw new Error(`--mix must be browse:cart:order with order > 0, e.g. 20:4:1; got "${text}"`);
  const [browse, cart, order] = parts as [number, number, number];
  return { browse: browse / order, cart: cart / order, order: 1 };
}

/** Monthly quantities and dollars for a load, from measured per-operation quantities. */
export function estimate(run: MeasuredRun, load: Load, prices: Prices = PRICES): Estimate {
  const days = DAYS_PER_MONTH;
  const monthly = (pick: (q: Quantities) => number) =>
    OPERATIONS.reduce(
      (sum, op) => sum + pick(run.perOperation[op]) * load.mix[op] * load.ordersPerDay * days,
      0,
    ) +
    pick(run.perEtlRun) * days;
  const lines: Line[] = [];
  const add = (service: string, item: string, quantity: number, unit: string, dollars: number) =>
    lines.push({ service, item, quantity, unit, dollars });

  const { apiGateway: api, lambda, dynamodb: ddb, s3 } = prices;
  const M = 1e6;
  // service, item, unit, the monthly quantity, its price per unit
  const usage: [string, string, string, keyof Quantities, number][] = [
    ['API Gateway', 'REST requests', 'requests', 'apiRequests', api.restRequestsPerMillion / M],
    ['Lambda', 'invocations', 'requests', 'lambdaInvocations', lambda.requestsPerMillion / M],
    ['Lambda', 'compute (arm64)', 'GB-s', 'lambdaGbSeconds', lambda.gbSecondArm],
    ['DynamoDB', 'read request units', 'RRU', 'dynamoReadUnits', ddb.readRequestUnitsPerMillion / M],
    ['DynamoDB', 'write request units', 'WRU', 'dynamoWriteUnits', ddb.writeRequestUnitsPerMillion / M],
    [
      'S3',
      'PUT/COPY/POST/LIST requests',
      'requests',
      's3WriteRequests',
      s3.putCopyPostListPerThousand / 1000,
    ],
    ['S3', 'GET/HEAD requests', 'requests', 's3ReadRequests', s3.getHeadPerThousand / 1000],
  ];
  for (const [service, item, unit, field, perUnit] of usage) {
    const quantity = monthly((q) => q[field]);
    add(service, item, quantity, unit, quantity * perUnit);
  }
  const gb = monthly((q) => q.s3BytesWritten) / 2 ** 30;
  add('S3', 'storage added this month (one month of it)', gb, 'GB-month', gb * s3.storageGbMonth);

  const rds = RDS_BY_STAGE[load.stage];
  const copies = rds.multiAz ? 2 : 1;
  const hours = prices.rds.hoursPerMonth * copies;
  add(
    'RDS',
    `${rds.instance}${rds.multiAz ? ' Multi-AZ' : ''} instance`,
    hours,
    'instance-hours',
    hours * prices.rds.instanceHour[rds.instance],
  );
  add(
    'RDS',
    'gp3 storage',
    rds.storageGb * copies,
    'GB-month',
    rds.storageGb * copies * prices.rds.gp3GbMonth,
  );

  const byService: Record<string, number> = {};
  for (const line of lines) byService[line.service] = (byService[line.service] ?? 0) + line.dollars;
  const total = lines.reduce((n, l) => n + l.dollars, 0);
  return {
    load,
    daysPerMonth: days,
    lines,
    byService,
    total,
    perThousandOrders: (total / (load.ordersPerDay * days)) * 1000,
  };
}

/**
 * The lab's price of strong reads: dollars per million reads, from the read units its DynamoDB rows
 * measured (the lab's own report rows, so a renamed field fails the type check, not the output).
 *
 * @example
 * strongReadPrice(report.results); // [{ strategy: 'GetItem (eventual)', unitsPerRead: 0.5, ... }, ...]
 */
export function strongReadPrice(
  rows: readonly Pick<ResultRow, 'store' | 'strategy' | 'operations' | 'capacityUnits'>[],
  prices: Prices = PRICES,
): { strategy: string; unitsPerRead: number; dollarsPerMillionReads: number }[] {
  return rows
    .filter((r) => r.store === 'dynamodb' && r.capacityUnits && r.operations > 0)
    .map((r) => {
      const unitsPerRead = (r.capacityUnits?.read ?? 0) / r.operations;
      return {
        strategy: r.strategy,
        unitsPerRead,
        dollarsPerMillionReads: unitsPerRead * prices.dynamodb.readRequestUnitsPerMillion,
      };
    });
}
