import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDb } from '../../local/emulators/dynamodb.ts';
import type { Emulator } from '../../local/emulators/types.ts';
import {
  copyName,
  type DynamoDbReplication,
  startDynamoDbReplication,
} from '../../local/replication/dynamodb.ts';
import { wireTimed } from '../../shared/lab/adapters/wire-times.ts';
import { parseLagModel } from '../../shared/lab/domain/lag-model.ts';

/*
 * A read of a lagging copy answers as of the moment it reached the replica, however long DynamoDB
 * Local then takes to serve it. PBS (Bailis et al., VLDB 2012) asks whether a read that starts t ms
 * after a write's acknowledgement sees it; on a busy machine the copy's own GetItem may run long
 * after that, and if the write's lagged apply slipped in meanwhile, the measured staleness would
 * fall below the prediction. Here an upstream that holds every read of the lagging copy for 300 ms
 * (a slow DynamoDB Local) sits between the proxy and its own DynamoDB Local; the lag is a fixed 100
 * ms and every eventual read goes to the lagging copy.
 */

const TABLE = 'AsOfArrival';
const HOLD_MS = 300;
let dynamodb: Emulator;
let slow: Server;
let replication: DynamoDbReplication;
let client: DynamoDBDocumentClient;

/** Forwards to DynamoDB Local, holding back reads of the lagging copy for {@link HOLD_MS}. */
function slowUpstream(target: URL): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isLaggingRead =
        String(req.headers['x-amz-target']).endsWith('.GetItem') &&
        body.toString('utf8').includes(`"${copyName(TABLE, 'lagging')}"`);
      setTimeout(
        () => {
          const up = request(
            {
              host: target.hostname,
              port: target.port,
              method: req.method,
              path: req.url,
              headers: req.headers,
            },
            (answer) => {
              res.writeHead(answer.statusCode ?? 500, answer.headers);
              answer.pipe(res);
            },
          );
          up.on('error', () => res.destroy());
          up.end(body);
        },
        isLaggingRead ? HOLD_MS : 0,
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  dynamodb = await startDynamoDb({ port: 0 });
  slow = await slowUpstream(new URL(dynamodb.endpoint));
  replication = await startDynamoDbReplication({
    upstream: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
    model: parseLagModel('fixed:100ms'),
    random: () => 0.9, // replica choice: the lagging follower, every time
  });
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: replication.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await replication?.stop();
  await new Promise((resolve) => slow?.close(resolve));
  await dynamodb?.stop();
});

describe('a lagging copy answers as of the read’s arrival', () => {
  it('a read that arrives before the write is due there misses it, though it is served after', async () => {
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'a', version: 1 } }));
    const started = performance.now();
    const read = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: 'a' } }));
    // The copy served it after the write fell due (100 ms): had the apply slipped in, it would see it.
    expect(performance.now() - started).toBeGreaterThan(HOLD_MS);
    expect(read.Item).toBeUndefined();
  });

  it('a read that arrives after the write is due sees it', async () => {
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'b', version: 1 } }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const read = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: 'b' } }));
    expect(read.Item).toEqual({ pk: 'b', version: 1 });
  });

  it('the held-back write lands once the earlier read has its answer', async () => {
    const read = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: 'a' } }));
    expect(read.Item).toEqual({ pk: 'a', version: 1 });
  });
});

describe('answers state the coordinator’s clock (x-replication-as-of), PBS’s t without the client’s legs', () => {
  it('a write’s is its acknowledgement, a read’s its arrival: their difference says whether it sees the write', async () => {
    const seen: { t: number; visible: boolean }[] = [];
    for (const [i, wait] of [0, 40, 130, 160].entries()) {
      const put = wireTimed(new PutCommand({ TableName: TABLE, Item: { pk: `t${i}`, version: 1 } }));
      await client.send(put.command);
      await new Promise((resolve) => setTimeout(resolve, wait));
      const get = wireTimed(new GetCommand({ TableName: TABLE, Key: { pk: `t${i}` } }));
      const read = await client.send(get.command);
      expect(put.times.asOf).toEqual(expect.any(Number));
      expect(get.times.asOf).toEqual(expect.any(Number));
      const t = (get.times.asOf as number) - (put.times.asOf as number);
      // The coordinator's t starts before the client had the ack and ends after the read left it.
      expect(t).toBeGreaterThanOrEqual((get.times.sent as number) - (put.times.received as number));
      seen.push({ t, visible: read.Item !== undefined });
    }
    // fixed:100ms: a read of the lagging copy sees the write exactly when it arrived ≥ 100 ms after the ack.
    for (const { t, visible } of seen) expect(visible, `t = ${t.toFixed(1)} ms`).toBe(t >= 100);
    expect(seen.map((s) => s.visible)).toEqual([false, false, true, true]);
  });
});
