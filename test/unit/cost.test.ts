import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lambdaUsage, s3Class, startDynamoDbMeter, startS3Meter } from '../../scripts/cost/meter.ts';
import {
  estimate,
  type MeasuredRun,
  PRICES,
  parseMix,
  type Quantities,
  strongReadPrice,
} from '../../scripts/cost/model.ts';

const zero: Quantities = {
  apiRequests: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  dynamoReadUnits: 0,
  dynamoWriteUnits: 0,
  s3WriteRequests: 0,
  s3ReadRequests: 0,
  s3BytesWritten: 0,
};
const q = (over: Partial<Quantities>): Quantities => ({ ...zero, ...over });
const fixture: MeasuredRun = {
  source: 'fixture',
  counts: { browse: 10, cart: 10, order: 10, etl: 1 },
  perOperation: {
    browse: q({ apiRequests: 1, lambdaInvocations: 1, lambdaGbSeconds: 0.01, dynamoReadUnits: 0.5 }),
    cart: q({
      apiRequests: 1,
      lambdaInvocations: 2,
      lambdaGbSeconds: 0.02,
      dynamoReadUnits: 1,
      dynamoWriteUnits: 2,
    }),
    order: q({
      apiRequests: 1,
      lambdaInvocations: 4,
      lambdaGbSeconds: 0.05,
      dynamoReadUnits: 1,
      dynamoWriteUnits: 3,
    }),
  },
  perEtlRun: q({
    lambdaInvocations: 3,
    lambdaGbSeconds: 10,
    dynamoWriteUnits: 5,
    s3WriteRequests: 20,
    s3ReadRequests: 10,
    s3BytesWritten: 2 ** 30,
  }),
  etlOrders: 10,
};
const DAYS = 365 / 12;

describe('cost model', () => {
  it('computes every line from the measured quantities, the load and the price table (hand-checked)', () => {
    const e = estimate(fixture, { ordersPerDay: 1000, mix: { browse: 10, cart: 2, order: 1 }, stage: 'dev' });
    const dollars = (item: string) => e.lines.find((l) => l.item.startsWith(item))?.dollars;
    // Per day: 1000 orders → 10,000 views, 2,000 cart writes, 1,000 checkouts, plus one ETL run.
    expect(dollars('REST requests')).toBeCloseTo(((13_000 * DAYS) / 1e6) * 3.5, 10);
    expect(dollars('invocations')).toBeCloseTo(((18_003 * DAYS) / 1e6) * 0.2, 10);
    expect(dollars('compute')).toBeCloseTo(200 * DAYS * 0.0000133334, 10);
    expect(dollars('read request units')).toBeCloseTo(((8_000 * DAYS) / 1e6) * 0.125, 10);
    expect(dollars('write request units')).toBeCloseTo(((7_005 * DAYS) / 1e6) * 0.625, 10);
    expect(dollars('PUT/COPY')).toBeCloseTo(((20 * DAYS) / 1000) * 0.005, 10);
    expect(dollars('GET/HEAD')).toBeCloseTo(((10 * DAYS) / 1000) * 0.0004, 10);
    expect(dollars('storage added')).toBeCloseTo(DAYS * 0.023, 10);
    expect(dollars('db.t4g.micro instance')).toBeCloseTo(730 * 0.016, 10);
    expect(dollars('gp3 storage')).toBeCloseTo(20 * 0.115, 10);
    const sum = e.lines.reduce((n, l) => n + l.dollars, 0);
    expect(e.total).toBeCloseTo(sum, 10);
    expect(e.byService.Lambda).toBeCloseTo((dollars('invocations') ?? 0) + (dollars('compute') ?? 0), 10);
    expect(e.perThousandOrders).toBeCloseTo((sum / (1000 * DAYS)) * 1000, 10);
  });

  it('prod pays a Multi-AZ db.t4g.medium; the usage lines are the same', () => {
    const load = { ordersPerDay: 1000, mix: { browse: 10, cart: 2, order: 1 } };
    const dev = estimate(fixture, { ...load, stage: 'dev' });
    const prod = estimate(fixture, { ...load, stage: 'prod' });
    expect(prod.byService.RDS).toBeCloseTo(2 * 730 * 0.065 + 2 * 20 * 0.115, 10);
    expect(prod.byService.Lambda).toBe(dev.byService.Lambda);
  });

  it('takes no usage from anywhere but the measured run: nothing measured costs only the database', () => {
    const nothing: MeasuredRun = {
      ...fixture,
      perOperation: { browse: zero, cart: zero, order: zero },
      perEtlRun: zero,
    };
    const e = estimate(nothing, {
      ordersPerDay: 50_000,
      mix: { browse: 30, cart: 5, order: 1 },
      stage: 'dev',
    });
    for (const line of e.lines.filter((l) => l.service !== 'RDS')) expect(line.dollars).toBe(0);
    // And each measured quantity moves exactly its own line: double one, its dollars double.
    for (const field of Object.keys(zero) as (keyof Quantities)[]) {
      const once = estimate(
        { ...nothing, perOperation: { ...nothing.perOperation, order: q({ [field]: 1 }) } },
        e.load,
      );
      const twice = estimate(
        { ...nothing, perOperation: { ...nothing.perOperation, order: q({ [field]: 2 }) } },
        e.load,
      );
      const usage = (x: typeof once) => x.total - (x.byService.RDS ?? 0);
      expect(usage(once), field).toBeGreaterThan(0);
      expect(usage(twice)).toBeCloseTo(2 * usage(once), 10);
    }
  });

  it('reads the mix as browse:cart:order per order and refuses nonsense', () => {
    expect(parseMix('20:4:1')).toEqual({ browse: 20, cart: 4, order: 1 });
    expect(parseMix('40:8:2')).toEqual({ browse: 20, cart: 4, order: 1 });
    expect(() => parseMix('1:2')).toThrow(/browse:cart:order/);
    expect(() => parseMix('1:2:0')).toThrow(/order > 0/);
  });

  it('prices strong reads from the read units the lab measured', () => {
    // Rows as the lab reports them (read-after-write): only DynamoDB's have read units.
    const row = (store: 'dynamodb' | 'postgres', strategy: string, read?: number) => ({
      store,
      strategy,
      operations: 50,
      ...(read === undefined ? {} : { capacityUnits: { read, write: 50 } }),
    });
    const priced = strongReadPrice([
      row('dynamodb', 'GetItem (eventual)', 25),
      row('dynamodb', 'GetItem ConsistentRead', 50),
      row('postgres', 'primary read'),
    ]);
    expect(priced.map((p) => p.strategy)).toEqual(['GetItem (eventual)', 'GetItem ConsistentRead']);
    const [eventual, strong] = priced;
    expect(eventual?.dollarsPerMillionReads).toBeCloseTo(
      0.5 * PRICES.dynamodb.readRequestUnitsPerMillion,
      10,
    );
    expect(strong?.dollarsPerMillionReads).toBeCloseTo(1 * PRICES.dynamodb.readRequestUnitsPerMillion, 10);
  });

  it('keeps its price table as dated data for us-east-1', () => {
    expect(PRICES.region).toBe('us-east-1');
    expect(PRICES.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('cost meters (the measured quantities come from what the emulators answered)', () => {
  const servers: Server[] = [];
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });
  const upstream = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('asks DynamoDB for ConsumedCapacity and adds up what it answers, response unchanged', async () => {
    const seen: Record<string, unknown>[] = [];
    const url = await upstream((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push(JSON.parse(body));
        const target = String(req.headers['x-amz-target']);
        const answer = target.endsWith('GetItem')
          ? { Item: {}, ConsumedCapacity: { TableName: 't', CapacityUnits: 0.5 } }
          : {
              ConsumedCapacity: [
                { TableName: 't', CapacityUnits: 2 },
                { TableName: 'u', CapacityUnits: 1 },
              ],
            };
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amz-crc32': '123' });
        res.end(JSON.stringify(answer));
      });
    });
    const meter = await startDynamoDbMeter(url);
    stops.push(meter.stop);
    const send = (op: string, body: unknown) =>
      fetch(meter.endpoint, {
        method: 'POST',
        headers: { 'x-amz-target': `DynamoDB_20120810.${op}` },
        body: JSON.stringify(body),
      });
    const got = await send('GetItem', { TableName: 't', Key: {} });
    expect(got.headers.get('x-amz-crc32')).toBe('123');
    expect(((await got.json()) as { ConsumedCapacity: unknown }).ConsumedCapacity).toEqual({
      TableName: 't',
      CapacityUnits: 0.5,
    });
    await (await send('TransactWriteItems', { TransactItems: [] })).text();
    await (await send('DescribeTable', { TableName: 't' })).text();
    expect(seen.map((b) => b.ReturnConsumedCapacity)).toEqual(['INDEXES', 'INDEXES', undefined]);
    expect(meter.counters).toEqual({ requests: 2, readUnits: 0.5, writeUnits: 3 });
  });

  it('counts S3 requests by price class and the bytes uploaded', async () => {
    const url = await upstream((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    const meter = await startS3Meter(url);
    stops.push(meter.stop);
    await (
      await fetch(`${meter.endpoint}/bucket/a/b.parquet`, { method: 'PUT', body: 'x'.repeat(1000) })
    ).text();
    await (await fetch(`${meter.endpoint}/bucket/a/b.parquet`)).text();
    await (await fetch(`${meter.endpoint}/bucket?list-type=2&prefix=a/`)).text();
    await (await fetch(`${meter.endpoint}/bucket/a/b.parquet`, { method: 'DELETE' })).text();
    expect(meter.counters).toEqual({
      writeRequests: 2,
      readRequests: 1,
      otherRequests: 1,
      bytesWritten: 1000,
    });
    expect(s3Class('PUT', '/b/k', { 'x-amz-copy-source': 'b/other' })).toBe('write');
  });

  it("turns the local runtime's platform.report records into invocations and GB-seconds", () => {
    const usage = lambdaUsage([
      { type: 'platform.report', record: { metrics: { billedDurationMs: 100, memorySizeMB: 256 } } },
      { type: 'platform.report', record: { metrics: { billedDurationMs: 2000, memorySizeMB: 1024 } } },
      { type: 'platform.initReport', record: { metrics: { durationMs: 500 } } },
    ]);
    expect(usage.invocations).toBe(2);
    expect(usage.gbSeconds).toBeCloseTo(0.1 * 0.25 + 2 * 1, 10);
  });
});
