/**
 * Measures what each operation uses, on the local cloud: starts one (fresh state in a scratch
 * directory, its functions behind the metering proxies of meter.ts), then runs phases — browse
 * (`GET /products/{id}`), cart (`PUT /cart/items/{id}`), order (`POST /orders`, with the work its
 * events cause afterwards), one ETL run — and divides what each phase used by its operations.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { type LocalCloud, startLocalCloud } from '../../local/cloud/local-cloud.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../../shared/auth/jwt.ts';
import type { ResultRow } from '../../shared/lab/domain/report.ts';
import {
  type DynamoDbCounters,
  lambdaUsage,
  type Meter,
  type S3Counters,
  startDynamoDbMeter,
  startS3Meter,
} from './meter.ts';
import type { MeasuredRun, Quantities } from './model.ts';

export async function measure(options: {
  root: string;
  sizes?: { browse: number; cart: number; order: number };
  log?: (message: string) => void;
}): Promise<{ run: MeasuredRun; lab: ResultRow[] }> {
  const sizes = options.sizes ?? { browse: 60, cart: 30, order: 20 };
  const log = options.log ?? (() => {});
  const stateDir = path.join(options.root, '.local', `cost-${process.pid}`);
  const records: Record<string, unknown>[] = [];
  let dynamo: Meter<DynamoDbCounters> | undefined;
  let s3: Meter<S3Counters> | undefined;
  let cloud: LocalCloud | undefined;
  let apiRequests = 0;
  // Ctrl-C stops the cloud (its emulators and workers are child processes) before exiting.
  const interrupt = () => void (cloud?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    log('starting a local cloud behind metering proxies');
    cloud = await startLocalCloud({
      root: options.root,
      stateDir,
      fresh: true,
      apiPort: 0,
      emulatorPorts: { dynamodb: 0, s3: 0, postgres: 0 },
      log: (entry) => {
        if (entry.type === 'platform.report') records.push(entry);
      },
      functionEndpoints: async (emulators) => {
        dynamo = await startDynamoDbMeter(emulators.dynamodb);
        s3 = await startS3Meter(emulators.s3);
        return { dynamodb: dynamo.endpoint, s3: s3.endpoint };
      },
    });
    const c = cloud;
    const token = (sub: string, admin = false) =>
      signToken(
        c.signingKey.privateJwk,
        { sub, groups: admin ? ['admin'] : [] },
        { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE },
      );
    const api = async <T = Record<string, unknown>>(
      method: string,
      route: string,
      auth?: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<T> => {
      apiRequests++;
      const response = await fetch(`${c.apiUrl}${route}`, {
        method,
        headers: {
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          'content-type': 'application/json',
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };
    /** Setup calls (not measured) retried after a 5xx: a cold start that timed out on a loaded machine. */
    const setup = async <T>(call: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await call();
        } catch (error) {
          if (attempt >= 4 || !/: 5\d\d /.test((error as Error).message)) throw error;
          await new Promise((r) => setTimeout(r, 1000 * attempt));
        }
      }
    };
    /** Counters now: what a phase used is the difference between two snapshots. */
    const snapshot = (): Quantities => {
      const lambda = lambdaUsage(records);
      return {
        apiRequests,
        lambdaInvocations: lambda.invocations,
        lambdaGbSeconds: lambda.gbSeconds,
        dynamoReadUnits: dynamo?.counters.readUnits ?? 0,
        dynamoWriteUnits: dynamo?.counters.writeUnits ?? 0,
        s3WriteRequests: s3?.counters.writeRequests ?? 0,
        s3ReadRequests: s3?.counters.readRequests ?? 0,
        s3BytesWritten: s3?.counters.bytesWritten ?? 0,
      };
    };
    /** Waits until no function has reported for `quietMs` (the events an operation caused are done). */
    const settle = async (quietMs = 3000) => {
      for (let seen = -1; seen !== records.length; ) {
        seen = records.length;
        await new Promise((r) => setTimeout(r, quietMs));
      }
    };
    const phase = async (n: number, work: () => Promise<void>): Promise<Quantities> => {
      await settle();
      const before = snapshot();
      await work();
      await settle();
      const after = snapshot();
      return Object.fromEntries(
        Object.entries(after).map(([k, v]) => [k, (v - before[k as keyof Quantities]) / n]),
      ) as unknown as Quantities;
    };

    const admin = await token('cost-admin', true);
    const products: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await setup(() =>
        api<{ productId: string }>('POST', '/products', admin, {
          name: `Cost mug ${i}`,
          category: 'cost',
          priceCents: 1200 + i,
          currency: 'EUR',
        }),
      );
      await setup(() => api('PUT', `/inventory/${p.productId}`, admin, { stock: 100_000 }));
      products.push(p.productId);
    }
    const shoppers = await Promise.all(
      Array.from({ length: sizes.order }, (_, i) => token(`cost-shopper-${i}`)),
    );

    log(`browse: ${sizes.browse} × GET /products/{id}`);
    const browse = await phase(sizes.browse, async () => {
      for (let i = 0; i < sizes.browse; i++) await api('GET', `/products/${products[i % products.length]}`);
    });
    log(`cart: ${sizes.cart} × PUT /cart/items/{id}`);
    const cartUsers = await Promise.all(
      Array.from({ length: sizes.cart }, (_, i) => token(`cost-cart-${i}`)),
    );
    const cart = await phase(sizes.cart, async () => {
      for (let i = 0; i < sizes.cart; i++)
        await api('PUT', `/cart/items/${products[i % products.length]}`, cartUsers[i], {
          quantity: 1 + (i % 3),
        });
    });
    // Carts for the checkouts, filled before the order phase (their cost is the cart phase's).
    for (let i = 0; i < sizes.order; i++)
      await setup(() =>
        api('PUT', `/cart/items/${products[i % products.length]}`, shoppers[i], { quantity: 1 }),
      );
    log(`order: ${sizes.order} × POST /orders (and the events they cause)`);
    const order = await phase(sizes.order, async () => {
      for (let i = 0; i < sizes.order; i++)
        await api('POST', '/orders', shoppers[i], { region: 'eu' }, { 'idempotency-key': `cost-${i}` });
    });
    log('etl: one daily run over the orders above');
    const today = new Date().toISOString().slice(0, 10);
    const etl = await phase(1, async () => {
      await new Promise((r) => setTimeout(r, 1500)); // the extract's settle time
      const { runId } = await api<{ runId: string }>('POST', '/etl/runs', admin, { date: today });
      for (const deadline = Date.now() + 300_000; Date.now() < deadline; ) {
        // 404 until the first step has recorded the run.
        const run = await api<{ status: string }>('GET', `/etl/runs/${runId}`, admin).catch(
          (error: Error) => {
            if (/: 404 /.test(error.message)) return { status: 'PENDING' };
            throw error;
          },
        );
        if (run.status === 'SUCCEEDED') return;
        if (run.status === 'FAILED') throw new Error(`ETL run ${runId} failed: ${JSON.stringify(run)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`ETL run ${runId} did not finish in 5 minutes`);
    });
    log('consistency lab: read-after-write');
    type LabReport = {
      experimentId?: string;
      status?: string;
      results?: ResultRow[];
    };
    let report = await api<LabReport>('POST', '/consistency/experiments', admin, {
      scenario: 'read-after-write',
      trials: 20,
      concurrency: 4,
    });
    // A run estimated above 20 s is queued (202): wait for its report.
    for (const deadline = Date.now() + 300_000; report.status !== 'done' && Date.now() < deadline; ) {
      if (report.status === 'failed') throw new Error(`lab experiment failed: ${JSON.stringify(report)}`);
      await new Promise((r) => setTimeout(r, 1000));
      report = await api<LabReport>('GET', `/consistency/experiments/${report.experimentId}`, admin);
    }
    const lab = report.results ?? [];
    return {
      run: {
        source: `local cloud run ${new Date().toISOString()} (target local, stage dev): platform.report records, DynamoDB ConsumedCapacity and S3 requests through metering proxies`,
        counts: { browse: sizes.browse, cart: sizes.cart, order: sizes.order, etl: 1 },
        perOperation: { browse, cart, order },
        perEtlRun: etl,
        etlOrders: sizes.order,
      },
      lab,
    };
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await cloud?.stop();
    await dynamo?.stop();
    await s3?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
