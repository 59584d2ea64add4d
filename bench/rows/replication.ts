/**
 * The `replication` row of `npm run bench`: overhead of the replication layer
 * (local/replication/dynamodb.ts) per DynamoDB request. The same requests are sent by the SDK
 * straight to DynamoDB Local (the baseline) and through the replicating proxy in front of it,
 * sequentially, after a warm-up, alternating blocks so background load hits both alike: p50 and p99
 * in milliseconds and the ratio proxy/direct. Starts its own in-memory DynamoDB Local.
 *
 * `npm run bench -- --only replication [--quick]`
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDb } from '../../local/emulators/dynamodb.ts';
import { startDynamoDbReplication } from '../../local/replication/dynamodb.ts';
import { parseLagModel } from '../../shared/lab/domain/lag-model.ts';
import { type BenchRow, measure, percentile } from '../lib/row.ts';

export interface OverheadRow {
  operation: string;
  direct: { p50: number; p99: number };
  replicated: { p50: number; p99: number };
}

export async function measureReplicationOverhead(
  options: { requests?: number; model?: string } = {},
): Promise<OverheadRow[]> {
  const n = options.requests ?? 1000;
  const dynamodb = await startDynamoDb({ port: 0 });
  const replication = await startDynamoDbReplication({
    upstream: dynamodb.endpoint,
    model: parseLagModel(options.model ?? 'exp:20ms'),
  });
  const client = (endpoint: string) =>
    DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
  const direct = client(dynamodb.endpoint);
  const proxied = client(replication.endpoint);
  try {
    await proxied.send(
      new CreateTableCommand({
        TableName: 'Bench',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'g', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byG',
            KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    const operations: [string, (c: DynamoDBDocumentClient, i: number) => Promise<unknown>][] = [
      [
        'GetItem (eventual)',
        (c, i) => c.send(new GetCommand({ TableName: 'Bench', Key: { pk: `k${i % 100}` } })),
      ],
      [
        'GetItem ConsistentRead',
        (c, i) =>
          c.send(new GetCommand({ TableName: 'Bench', Key: { pk: `k${i % 100}` }, ConsistentRead: true })),
      ],
      [
        'PutItem',
        (c, i) => c.send(new PutCommand({ TableName: 'Bench', Item: { pk: `k${i % 100}`, g: 'a', v: i } })),
      ],
      [
        'UpdateItem ADD',
        (c, i) =>
          c.send(
            new UpdateCommand({
              TableName: 'Bench',
              Key: { pk: `k${i % 100}` },
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': 1 },
            }),
          ),
      ],
    ];
    for (let i = 0; i < 100; i++)
      await proxied.send(new PutCommand({ TableName: 'Bench', Item: { pk: `k${i}`, g: 'a' } }));
    const rows: OverheadRow[] = [];
    for (const [operation, run] of operations) {
      const timed = async (c: DynamoDBDocumentClient, i: number) => {
        const t = performance.now();
        await run(c, i);
        return performance.now() - t;
      };
      for (let i = 0; i < 50; i++) {
        await timed(direct, i);
        await timed(proxied, i);
      }
      const a: number[] = [];
      const b: number[] = [];
      for (let block = 0; block < 10; block++) {
        for (let i = 0; i < n / 10; i++) a.push(await timed(direct, i));
        for (let i = 0; i < n / 10; i++) b.push(await timed(proxied, i));
      }
      rows.push({
        operation,
        direct: { p50: percentile(a, 50), p99: percentile(a, 99) },
        replicated: { p50: percentile(b, 50), p99: percentile(b, 99) },
      });
    }
    return rows;
  } finally {
    direct.destroy();
    proxied.destroy();
    await replication.stop();
    await dynamodb.stop();
  }
}

const MODEL = 'exp:20ms';

export const row: BenchRow = {
  name: 'replication',
  title: 'Replication layer (local/replication) vs DynamoDB Local direct',
  order: 25,
  async run(ctx) {
    const requests = ctx.quick ? 100 : 1000;
    ctx.log(`replication: ${requests} sequential requests per operation, each way`);
    const rows = await measureReplicationOverhead({ requests, model: MODEL });
    return {
      measurements: rows.flatMap((r) => [
        measure(`${r.operation} p50`, r.replicated.p50, 'ms', 'straight to DynamoDB Local', r.direct.p50),
        measure(`${r.operation} p99`, r.replicated.p99, 'ms', 'straight to DynamoDB Local', r.direct.p99),
      ]),
      notes: [`${requests} sequential requests per operation and path, lag model ${MODEL}`],
    };
  },
};
