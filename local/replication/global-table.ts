/**
 * Two regions, `eu` and `us`, for the partition (CAP) scenario of issue 12:
 *
 * - **DynamoDB as a global table** (multi-region eventual consistency): one DynamoDB endpoint per
 *   region, each an HTTP proxy in front of DynamoDB Local that keeps its region's copy of a table in
 *   `<table>.region-<region>`. A write is answered by its own region; the proxy stamps it with
 *   `aws:rep:updatetime` and `aws:rep:updateregion` (the attributes global tables version 2017.11.29
 *   showed) and replicates it asynchronously to the other region, where it is applied only if it is
 *   newer: **last writer wins** by that timestamp, ties broken by region, as the DynamoDB developer
 *   guide describes for global tables ("Conflict resolution": the last writer wins, determined by
 *   timestamp). Writes are replicated as whole items (the lab's global-table clients use PutItem).
 * - **Postgres with its single primary in `eu`**: `us` clients reach it through a TCP link.
 *
 * The `regions` link (`partition`, `lag` fault kinds) stands for the network between the regions:
 * cut, it pauses the replication queue (what FIS' `aws:dynamodb:global-table-pause-replication`
 * does on AWS) and cuts `us` off the Postgres primary; mended, the queue drains.
 *
 * @module
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Link, startLink } from './link.ts';

export const REGIONS = ['eu', 'us'] as const;
export type Region = (typeof REGIONS)[number];
/** The table the lab's partition scenario updates from both regions (a copy per region). */
export const GLOBAL_LAB_TABLE = 'shop-global-lab';
/** Replication delay between the regions when the link is up (AWS: "typically within a second"). */
const REPLICATION_MS = 50;

type Json = Record<string, unknown>;
type AttributeMap = Record<string, Record<string, unknown>>;

const UPDATE_TIME = 'aws:rep:updatetime';
const UPDATE_REGION = 'aws:rep:updateregion';
const regionTable = (table: string, region: Region) => `${table}.region-${region}`;
const other = (region: Region): Region => (region === 'eu' ? 'us' : 'eu');

export interface GlobalTableRegions {
  /** The DynamoDB endpoint of each region. */
  dynamodb: Record<Region, string>;
  /** The Postgres URL clients of each region use (us: through the regions link). */
  postgres: Record<Region, string>;
  /** The link between the regions, for `partition` and `lag`. */
  link: Link;
  /** Replicated writes waiting for the link. */
  pending(): number;
  stop(): Promise<void>;
}

/**
 * Starts the two regional endpoints on `upstream` (DynamoDB Local) and the `us` path to the Postgres
 * primary behind `postgresUrl`.
 */
export async function startGlobalTableRegions(options: {
  upstream: string;
  postgresUrl: string;
  log?: (entry: Record<string, unknown>) => void;
}): Promise<GlobalTableRegions> {
  const upstream = new URL(options.upstream);
  const log = options.log ?? (() => {});
  const call = (operation: string, input: Json) => send(upstream, `DynamoDB_20120810.${operation}`, input);
  let clock = 0;
  /** Microseconds, strictly increasing within this process: no two writes share a timestamp. */
  const now = () => {
    clock = Math.max(clock + 1, Date.now() * 1000);
    return clock;
  };

  for (const region of REGIONS) {
    const name = regionTable(GLOBAL_LAB_TABLE, region);
    const described = await call('DescribeTable', { TableName: name });
    if (described.status === 200) continue;
    await call('CreateTable', {
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
  }

  // The replication queue between the regions, paused while the link is cut.
  const queue: { to: Region; table: string; item: AttributeMap; due: number }[] = [];
  let cut = false;
  let lagMs = 0;
  let draining = false;
  const drain = async () => {
    if (draining) return;
    draining = true;
    try {
      while (!cut && queue.length && (queue[0]?.due ?? 0) <= Date.now()) {
        const next = queue.shift() as (typeof queue)[number];
        const time = next.item[UPDATE_TIME]?.N as string;
        const from = next.item[UPDATE_REGION]?.S as string;
        // Apply only if newer than what the region has: last writer wins (ties: the larger region name).
        const applied = await call('PutItem', {
          TableName: regionTable(next.table, next.to),
          Item: next.item,
          ConditionExpression: 'attribute_not_exists(#t) OR #t < :t OR (#t = :t AND #r < :r)',
          ExpressionAttributeNames: { '#t': UPDATE_TIME, '#r': UPDATE_REGION },
          ExpressionAttributeValues: { ':t': { N: time }, ':r': { S: from } },
        });
        if (applied.status !== 200 && !applied.body.includes('ConditionalCheckFailed')) {
          log({ level: 'WARN', source: 'global-table', message: 'replication failed', body: applied.body });
        }
      }
    } finally {
      draining = false;
    }
  };
  const timer = setInterval(() => void drain(), 10);

  const servers: Server[] = [];
  const endpoint = async (region: Region): Promise<string> => {
    const server = createServer((req, res) => void handle(region, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  async function handle(region: Region, req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.split('.')[1] ?? '';
    let input: Json;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Json;
    } catch {
      input = {};
    }
    const table = typeof input.TableName === 'string' ? input.TableName : undefined;
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(body);
    };
    if (!table || !['GetItem', 'PutItem', 'DeleteItem', 'DescribeTable'].includes(operation)) {
      return reply(
        400,
        JSON.stringify({
          __type: 'com.amazon.coral.validate#ValidationException',
          message: `The local global table ${GLOBAL_LAB_TABLE} supports GetItem, PutItem, DeleteItem and DescribeTable (got ${operation || 'none'})`,
        }),
      );
    }
    const forwarded: Json = { ...input, TableName: regionTable(table, region) };
    let item: AttributeMap | undefined;
    if (operation === 'PutItem') {
      item = {
        ...(input.Item as AttributeMap),
        [UPDATE_TIME]: { N: String(now()) },
        [UPDATE_REGION]: { S: region },
      };
      forwarded.Item = item;
    }
    const out = await call(operation, forwarded).catch((error: Error) => ({
      status: 500,
      body: JSON.stringify({ __type: 'InternalServerError', message: error.message }),
    }));
    // The answer names the table the client asked for.
    reply(out.status, out.body.replaceAll(regionTable(table, region), table));
    if (operation === 'PutItem' && out.status === 200 && item) {
      queue.push({ to: other(region), table, item, due: Date.now() + REPLICATION_MS + lagMs });
    }
  }

  const dynamodb = { eu: await endpoint('eu'), us: await endpoint('us') };
  const postgresLink = await startLink({
    name: 'regions',
    targetPort: Number(new URL(options.postgresUrl).port),
  });
  const usPostgres = new URL(options.postgresUrl);
  usPostgres.port = String(postgresLink.port);

  // The regions link: the Postgres path from us and the replication queue, cut and lagged together.
  const link: Link = {
    get port() {
      return postgresLink.port;
    },
    get targetPort() {
      return postgresLink.targetPort;
    },
    get lagMs() {
      return lagMs;
    },
    get isCut() {
      return cut;
    },
    get connections() {
      return postgresLink.connections;
    },
    retarget: (port) => postgresLink.retarget(port),
    lag(ms) {
      lagMs = Math.max(0, ms);
      postgresLink.lag(ms);
    },
    cut() {
      cut = true;
      postgresLink.cut();
    },
    mend() {
      cut = false;
      postgresLink.mend();
    },
    close: () => postgresLink.close(),
  };

  return {
    dynamodb,
    postgres: { eu: options.postgresUrl, us: usPostgres.toString() },
    link,
    pending: () => queue.length,
    async stop() {
      clearInterval(timer);
      await link.close();
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

function send(upstream: URL, target: string, input: Json): Promise<{ status: number; body: string }> {
  const payload = Buffer.from(JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': payload.length,
          'x-amz-target': target,
          'x-amz-date': '20250101T000000Z',
          authorization:
            'AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 500, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
