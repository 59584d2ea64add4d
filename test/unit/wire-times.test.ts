import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { wireTimed } from '../../shared/lab/adapters/wire-times.ts';

/** A DynamoDB endpoint that answers after `ms`, so the wire times can be told from the SDK's own work. */
function slowClient(ms: number) {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      requestHandler: {
        handle: async () => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return {
            response: {
              statusCode: 200,
              headers: { 'content-type': 'application/x-amz-json-1.0' },
              body: Readable.from([Buffer.from('{"Item":{"pk":{"S":"a"},"version":{"N":"1"}}}')]),
            },
          };
        },
      },
    }),
  );
}

describe('wireTimed', () => {
  it('records when the request left and the answer arrived, inside the time send() took', async () => {
    const client = slowClient(30);
    const get = wireTimed(new GetCommand({ TableName: 't', Key: { pk: 'a' } }));
    const before = performance.now();
    const out = await client.send(get.command);
    const after = performance.now();
    expect(out.Item?.version).toBe(1);
    const { sent, received } = get.times;
    expect(sent).toBeGreaterThanOrEqual(before);
    expect(received).toBeLessThanOrEqual(after);
    expect((received ?? 0) - (sent ?? 0)).toBeGreaterThanOrEqual(25); // the endpoint's 30 ms
  });

  it('can time many commands of one client (no duplicate middleware name)', async () => {
    const client = slowClient(1);
    for (let i = 0; i < 3; i++) {
      const put = wireTimed(new PutCommand({ TableName: 't', Item: { pk: `k${i}` } }));
      await client.send(put.command);
      expect(put.times.received).toBeGreaterThanOrEqual(put.times.sent ?? Number.POSITIVE_INFINITY);
    }
  });
});
