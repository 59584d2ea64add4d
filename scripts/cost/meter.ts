/**
 * Metering proxies between the local cloud's functions and its emulators, for `npm run cost`:
 *
 * - DynamoDB: adds `ReturnConsumedCapacity: INDEXES` to every data-plane request and adds up the
 *   `ConsumedCapacity` that DynamoDB Local answers (read units for reads, write units for writes);
 *   the response goes back unchanged (the SDK checks its CRC32).
 * - S3: counts requests by price class and the bytes uploaded; requests and responses unchanged
 *   (s3rver checks the signature, which covers the Host header: it is passed on as it came).
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export interface DynamoDbCounters {
  requests: number;
  readUnits: number;
  writeUnits: number;
}

export interface S3Counters {
  writeRequests: number;
  readRequests: number;
  otherRequests: number;
  bytesWritten: number;
}

export interface Meter<C> {
  endpoint: string;
  counters: C;
  stop(): Promise<void>;
}

const readBody = async (stream: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closer = (server: Server) => () =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Adds the units of one response's `ConsumedCapacity` (an object, or a list for batch/transact). */
export function addConsumed(counters: DynamoDbCounters, operation: string, response: unknown): void {
  const consumed = (response as { ConsumedCapacity?: unknown } | undefined)?.ConsumedCapacity;
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  for (const c of list as {
    CapacityUnits?: number;
    ReadCapacityUnits?: number;
    WriteCapacityUnits?: number;
  }[]) {
    if (c.ReadCapacityUnits !== undefined || c.WriteCapacityUnits !== undefined) {
      counters.readUnits += c.ReadCapacityUnits ?? 0;
      counters.writeUnits += c.WriteCapacityUnits ?? 0;
    } else if (READS.has(operation)) counters.readUnits += c.CapacityUnits ?? 0;
    else counters.writeUnits += c.CapacityUnits ?? 0;
  }
}

export async function startDynamoDbMeter(upstream: string): Promise<Meter<DynamoDbCounters>> {
  const counters: DynamoDbCounters = { requests: 0, readUnits: 0, writeUnits: 0 };
  const target = new URL(upstream);
  const server = createServer(async (req, res) => {
    try {
      let body = await readBody(req);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      if (READS.has(operation) || WRITES.has(operation)) {
        const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        json.ReturnConsumedCapacity = 'INDEXES';
        body = Buffer.from(JSON.stringify(json));
        counters.requests++;
      }
      const headers = { ...req.headers, 'content-length': String(body.length) };
      const upstreamRes = await new Promise<IncomingMessage>((resolve, reject) => {
        const out = request(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
          resolve,
        );
        out.on('error', reject);
        out.end(body);
      });
      const answer = await readBody(upstreamRes);
      if (READS.has(operation) || WRITES.has(operation)) {
        try {
          addConsumed(counters, operation, JSON.parse(answer.toString('utf8')));
        } catch {
          // not JSON (an error page): nothing consumed
        }
      }
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      res.end(answer);
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  });
  const endpoint = await listen(server);
  return { endpoint, counters, stop: closer(server) };
}

/** The S3 price class of a request (path-style URLs: `/<bucket>[/<key>]`). */
export function s3Class(
  method: string,
  url: string,
  headers: Record<string, unknown>,
): 'write' | 'read' | 'other' {
  const [path, query = ''] = url.split('?');
  const isObject = (path ?? '').split('/').filter(Boolean).length > 1;
  if (method === 'PUT' || method === 'POST' || headers['x-amz-copy-source']) return 'write';
  if (method === 'GET' && (!isObject || /(^|&)list-type=/.test(query))) return 'write'; // LIST
  if (method === 'GET' || method === 'HEAD') return 'read';
  return 'other'; // DELETE is free
}

export async function startS3Meter(upstream: string): Promise<Meter<S3Counters>> {
  const counters: S3Counters = { writeRequests: 0, readRequests: 0, otherRequests: 0, bytesWritten: 0 };
  const target = new URL(upstream);
  const server = createServer(async (req, res) => {
    const kind = s3Class(req.method ?? 'GET', req.url ?? '/', req.headers);
    counters[kind === 'write' ? 'writeRequests' : kind === 'read' ? 'readRequests' : 'otherRequests']++;
    if (req.method === 'PUT' && !req.headers['x-amz-copy-source'])
      counters.bytesWritten += Number(req.headers['content-length'] ?? 0);
    try {
      const upstreamRes = await new Promise<IncomingMessage>((resolve, reject) => {
        const out = request(
          {
            host: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          resolve,
        );
        out.on('error', reject);
        pipeline(req, out).catch(reject);
      });
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      await pipeline(upstreamRes, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(error));
    }
  });
  const endpoint = await listen(server);
  return { endpoint, counters, stop: closer(server) };
}

/** Lambda usage from `platform.report` records: invocations and GB-seconds (billed duration × memory). */
export function lambdaUsage(records: Record<string, unknown>[]): { invocations: number; gbSeconds: number } {
  let invocations = 0;
  let gbSeconds = 0;
  for (const line of records) {
    if (line.type !== 'platform.report') continue;
    const metrics = (line.record as { metrics?: { billedDurationMs?: number; memorySizeMB?: number } })
      ?.metrics;
    invocations++;
    gbSeconds += ((metrics?.billedDurationMs ?? 0) / 1000) * ((metrics?.memorySizeMB ?? 0) / 1024);
  }
  return { invocations, gbSeconds };
}
