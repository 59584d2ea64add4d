/**
 * Gateway + handler overhead: `GET /products/{id}` through the local API gateway (Lambda worker,
 * handler, one GetItem) against the same GetItem sent by the SDK straight to DynamoDB Local.
 * Sequential requests after a warm-up, p50 and p99.
 */
import { DynamoDBClient, GetItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { call, loggedStages } from '../lib/cloud.ts';
import { type BenchRow, goal, measure, percentile } from '../lib/row.ts';

export const row: BenchRow = {
  name: 'gateway',
  title: 'GET /products/{id} through the local gateway vs the SDK GetItem straight to DynamoDB Local',
  order: 10,
  sharedCloud: true,
  async run(ctx) {
    const n = ctx.quick ? 100 : 500;
    const cloud = await ctx.cloud();
    const admin = await cloud.token('bench-admin', true);
    const product = await call<{ productId: string }>(cloud.url, 'POST', '/products', {
      token: admin,
      body: { name: 'Bench mug', category: 'bench', priceCents: 999, currency: 'EUR' },
      retries: 3,
    });
    const dynamo = new DynamoDBClient({
      endpoint: cloud.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const tables = (await dynamo.send(new ListTablesCommand({}))).TableNames ?? [];
      const table = tables.find((t) => /catalog/i.test(t) && !/lab/i.test(t));
      if (!table) throw new Error(`no catalog table among ${tables.join(', ')}`);
      const key = { pk: { S: `PRODUCT#${product.productId}` }, sk: { S: 'PRODUCT' } };
      const viaGateway = async () => {
        const t = performance.now();
        await call(cloud.url, 'GET', `/products/${product.productId}`, { retries: 2 });
        return performance.now() - t;
      };
      const direct = async () => {
        const t = performance.now();
        const out = await dynamo.send(new GetItemCommand({ TableName: table, Key: key }));
        if (!out.Item) throw new Error('GetItem found no product');
        return performance.now() - t;
      };
      // Warm both paths (every worker of the function, the SDK's connections), then alternate them in
      // blocks so that background load hits both alike.
      for (let i = 0; i < 20; i++) {
        await viaGateway();
        await direct();
      }
      const ours: number[] = [];
      const base: number[] = [];
      const logsFrom = cloud.logs.length;
      for (let block = 0; block < 10; block++) {
        for (let i = 0; i < n / 10; i++) ours.push(await viaGateway());
        for (let i = 0; i < n / 10; i++) base.push(await direct());
      }
      const p50 = percentile(ours, 50);
      const b50 = percentile(base, 50);
      await new Promise((resolve) => setTimeout(resolve, 500)); // the local cloud's last log lines
      const stages = loggedStages(
        cloud.logs.slice(logsFrom),
        (l) => String(l.path).endsWith(product.productId),
        /CatalogApi/,
      );
      const direct50 = 'SDK GetItem → DynamoDB Local';
      return {
        measurements: [
          measure('GET /products/{id} p50', p50, 'ms', direct50, b50, `${n} sequential requests each`),
          measure('GET /products/{id} p99', percentile(ours, 99), 'ms', direct50, percentile(base, 99)),
        ],
        goals: [
          goal(
            'gateway + handler overhead p50 (gateway ÷ direct)',
            p50 / b50,
            '<=',
            1.3,
            '×',
            p50 / b50 > 1.3 ? whyMissed(p50, b50, stages) : undefined,
          ),
        ],
      };
    } finally {
      dynamo.destroy();
    }
  },
};

/**
 * Where the extra milliseconds go, from p50s of this run: the client's HTTP hop to the gateway (what
 * the client saw minus the gateway's own latency), the gateway with the event and the worker IPC (its
 * latency minus the function's duration), and the function beyond the direct GetItem (its duration,
 * which holds the same GetItem through the SDK, minus the direct call).
 */
function whyMissed(p50: number, b50: number, stages: { gatewayMs?: number; functionMs?: number }): string {
  const { gatewayMs, functionMs } = stages;
  const parts =
    gatewayMs === undefined || functionMs === undefined
      ? 'HTTP to the gateway, the event, IPC to the worker process, the handler around the same GetItem'
      : `HTTP to the gateway ${(p50 - gatewayMs).toFixed(1)} ms, the gateway with the event and the IPC to the ` +
        `worker ${(gatewayMs - functionMs).toFixed(1)} ms, the function beyond the direct GetItem ` +
        `${(functionMs - b50).toFixed(1)} ms (middleware, and the SDK call from a second process)`;
  return (
    `the gateway path adds ${(p50 - b50).toFixed(1)} ms (p50s: ${parts}); ` +
    `the goal leaves ${(0.3 * b50).toFixed(1)} ms for two more round trips between processes (client → ` +
    'gateway over HTTP, gateway → Lambda worker over IPC) and the handler, on a 2-core machine where each ' +
    'hop is syscalls and a wake-up of another process'
  );
}
