import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type EventEnvelope, LocalEventBridge } from '../../local/eventbridge/bus.ts';

const ACCOUNT = '123456789012';
const fn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;

/** Every invocation, in order; `failures` makes a target throw for its first N attempts (Infinity: always). */
const invocations: { arn: string; payload: unknown }[] = [];
const failures = new Map<string, number>();
const attemptsOf = (arn: string) => invocations.filter((i) => i.arn === arn).length;
const payloadsOf = (arn: string) => invocations.filter((i) => i.arn === arn).map((i) => i.payload);
let delivered: { arn: string; payload: unknown }[] = [];
const deliveredTo = (arn: string) => delivered.filter((d) => d.arn === arn).map((d) => d.payload);

const stateDir = mkdtempSync(join(tmpdir(), 'local-eventbridge-'));
const deadLetterFile = join(stateDir, 'dead-letters.jsonl');

const bus = new LocalEventBridge({
  region: 'us-east-1',
  accountId: ACCOUNT,
  retryBaseDelayMs: 5,
  deadLetterFile,
  invoke: async (arn, payload) => {
    invocations.push({ arn, payload });
    const left = failures.get(arn) ?? 0;
    if (left > 0) {
      failures.set(arn, left - 1);
      throw new Error(`${arn} is down`);
    }
    delivered.push({ arn, payload });
  },
});

let server: Server;
let client: EventBridgeClient;
let endpoint: string;

beforeAll(async () => {
  bus.addBus('shop-test');
  server = createServer((req, res) => void bus.handleHttp(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new EventBridgeClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await bus.idle();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(stateDir, { recursive: true, force: true });
});

const entry = (source: string, detail: unknown, extra: Record<string, unknown> = {}) => ({
  Source: source,
  DetailType: 'OrderPlaced',
  Detail: JSON.stringify(detail),
  EventBusName: 'shop-test',
  ...extra,
});

describe('LocalEventBridge over the AWS SDK', () => {
  it('delivers matching events asynchronously, transformed per target, and skips non-matching rules', async () => {
    bus.putRule({
      name: 'orders-big',
      eventBusName: 'shop-test',
      eventPattern: { source: ['shop.orders'], detail: { total: [{ numeric: ['>=', 100] }] } },
      targets: [
        { id: 'whole', arn: fn('whole') },
        { id: 'detail', arn: fn('detail'), inputPath: '$.detail' },
        { id: 'constant', arn: fn('constant'), input: '{"kind":"constant"}' },
        {
          id: 'transformed',
          arn: fn('transformed'),
          inputTransformer: {
            inputPathsMap: { order: '$.detail.orderId', total: '$.detail.total', type: '$.detail-type' },
            inputTemplate:
              '{"order": <order>, "total": <total>, "text": "<type> <order>", "rule": "<aws.events.rule-name>"}',
          },
        },
      ],
    });
    bus.putRule({
      name: 'orders-small',
      eventBusName: 'shop-test',
      eventPattern: { source: ['shop.orders'], detail: { total: [{ numeric: ['<', 100] }] } },
      targets: [{ id: 'small', arn: fn('small') }],
    });
    bus.putRule({
      name: 'default-bus-orders',
      eventBusName: 'default',
      eventPattern: { source: ['shop.orders'] },
      targets: [{ id: 'other-bus', arn: fn('other-bus') }],
    });

    const time = new Date('2024-01-02T03:04:05Z');
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry(
            'shop.orders',
            { orderId: 'o-1', total: 250 },
            {
              Time: time,
              Resources: ['arn:aws:shop:order/o-1'],
              // an ARN is accepted as well as a name
              EventBusName: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/shop-test`,
            },
          ),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    const eventId = out.Entries?.[0]?.EventId;
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);

    await vi.waitFor(
      () => {
        expect(deliveredTo(fn('whole'))).toHaveLength(1);
        expect(deliveredTo(fn('detail'))).toHaveLength(1);
        expect(deliveredTo(fn('constant'))).toHaveLength(1);
        expect(deliveredTo(fn('transformed'))).toHaveLength(1);
      },
      { timeout: 5_000, interval: 10 },
    );
    expect(deliveredTo(fn('whole'))[0]).toEqual({
      version: '0',
      id: eventId,
      'detail-type': 'OrderPlaced',
      source: 'shop.orders',
      account: ACCOUNT,
      time: '2024-01-02T03:04:05Z',
      region: 'us-east-1',
      resources: ['arn:aws:shop:order/o-1'],
      detail: { orderId: 'o-1', total: 250 },
    });
    expect(deliveredTo(fn('detail'))[0]).toEqual({ orderId: 'o-1', total: 250 });
    expect(deliveredTo(fn('constant'))[0]).toEqual({ kind: 'constant' });
    expect(deliveredTo(fn('transformed'))[0]).toEqual({
      order: 'o-1',
      total: 250,
      text: 'OrderPlaced o-1',
      rule: 'orders-big',
    });

    await bus.idle();
    expect(attemptsOf(fn('small'))).toBe(0);
    expect(attemptsOf(fn('other-bus'))).toBe(0);
  });

  it('returns from putEvents before any target is invoked', async () => {
    bus.putRule({
      name: 'async-check',
      eventBusName: 'shop-test',
      eventPattern: { source: ['shop.async'] },
      targets: [{ id: 'async', arn: fn('async') }],
    });
    const result = bus.putEvents([entry('shop.async', { n: 1 })]);
    expect(result.FailedEntryCount).toBe(0);
    expect(attemptsOf(fn('async'))).toBe(0);
    await vi.waitFor(() => expect(deliveredTo(fn('async'))).toHaveLength(1), {
      timeout: 5_000,
      interval: 10,
    });
  });

  it('retries a target that fails twice, then delivers it exactly once', async () => {
    failures.set(fn('flaky'), 2);
    bus.putRule({
      name: 'flaky',
      eventBusName: 'shop-test',
      eventPattern: { source: ['shop.flaky'] },
      targets: [{ id: 'flaky', arn: fn('flaky'), maximumRetryAttempts: 3 }],
    });
    await client.send(new PutEventsCommand({ Entries: [entry('shop.flaky', { n: 1 })] }));

    await vi.waitFor(() => expect(deliveredTo(fn('flaky'))).toHaveLength(1), {
      timeout: 5_000,
      interval: 10,
    });
    await bus.idle();
    expect(attemptsOf(fn('flaky'))).toBe(3);
    expect(deliveredTo(fn('flaky'))).toHaveLength(1);
    expect(new Set(payloadsOf(fn('flaky')).map((p) => (p as EventEnvelope).id)).size).toBe(1);
    expect(bus.listDeadLetters().filter((d) => d.ruleName === 'flaky')).toEqual([]);
  });

  it('dead-letters a target that always fails after maximumRetryAttempts + 1 attempts', async () => {
    failures.set(fn('broken'), Number.POSITIVE_INFINITY);
    bus.putRule({
      name: 'broken',
      eventBusName: 'shop-test',
      eventPattern: { source: ['shop.broken'] },
      targets: [
        {
          id: 'broken',
          arn: fn('broken'),
          maximumRetryAttempts: 2,
          deadLetterArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:shop-dlq`,
        },
      ],
    });
    const out = await client.send(
      new PutEventsCommand({ Entries: [entry('shop.broken', { orderId: 'o-9' })] }),
    );
    const eventId = out.Entries?.[0]?.EventId;

    await vi.waitFor(
      () => expect(bus.listDeadLetters().filter((d) => d.ruleName === 'broken')).toHaveLength(1),
      { timeout: 5_000, interval: 10 },
    );
    const [letter] = bus.listDeadLetters().filter((d) => d.ruleName === 'broken');
    expect(letter).toMatchObject({
      ruleName: 'broken',
      targetId: 'broken',
      targetArn: fn('broken'),
      deadLetterArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:shop-dlq`,
      attempts: 3,
      lastError: `${fn('broken')} is down`,
      event: { id: eventId, source: 'shop.broken', detail: { orderId: 'o-9' } },
    });
    expect(attemptsOf(fn('broken'))).toBe(3);
    expect(deliveredTo(fn('broken'))).toEqual([]);

    // The dead letters outlive the process: a new bridge on the same file lists them.
    const restarted = new LocalEventBridge({ invoke: async () => {}, deadLetterFile });
    expect(restarted.listDeadLetters().filter((d) => d.ruleName === 'broken')).toEqual([letter]);
  });

  it('rejects invalid requests like AWS: per-entry failures and ValidationException', async () => {
    bus.putRule({
      name: 'validation',
      eventBusName: 'shop-test',
      eventPattern: { source: ['shop.validation'] },
      targets: [{ id: 'validation', arn: fn('validation') }],
    });
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'shop.validation', Detail: '{}', EventBusName: 'shop-test' },
          { Source: 'shop.validation', DetailType: 'X', Detail: '[1, 2]', EventBusName: 'shop-test' },
          { Source: 'shop.validation', DetailType: 'X', Detail: 'not json', EventBusName: 'shop-test' },
          entry('shop.validation', { ok: true }, { EventBusName: 'no-such-bus' }),
          entry('shop.validation', { ok: true }),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(4);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'InvalidArgument',
      'MalformedDetail',
      'MalformedDetail',
      'ResourceNotFoundException',
      'ok',
    ]);
    expect(out.Entries?.[0]?.ErrorMessage).toContain('DetailType is a required argument');
    expect(out.Entries?.[4]?.EventId).toBeTruthy();

    const eleven = Array.from({ length: 11 }, (_, i) => entry('shop.validation', { i }));
    const error = await client.send(new PutEventsCommand({ Entries: eleven })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    expect((error as Error).message).toContain('10');

    await bus.idle();
    expect(attemptsOf(fn('validation'))).toBe(1);
  });

  it('rejects invalid patterns when a rule is put', () => {
    expect(() =>
      bus.putRule({
        name: 'bad-pattern',
        eventBusName: 'shop-test',
        eventPattern: { detail: { total: [{ numeric: ['>', 10, '<', 5] }] } },
        targets: [],
      }),
    ).toThrow(/Event pattern is not valid. Reason: detail.total: Bottom must be less than top/);
    expect(() =>
      bus.putRule({
        name: 'nowhere',
        eventBusName: 'no-such-bus',
        eventPattern: { source: ['x'] },
        targets: [],
      }),
    ).toThrow(/Event bus no-such-bus does not exist/);
    expect(bus.listRules().map((r) => r.name)).not.toContain('bad-pattern');
  });

  it('fires a scheduled rule on demand with a Scheduled Event', async () => {
    bus.putRule({
      name: 'nightly',
      eventBusName: 'default',
      scheduleExpression: 'cron(0 2 * * ? *)',
      targets: [{ id: 'nightly', arn: fn('nightly') }],
    });
    await bus.runSchedule('nightly');
    expect(deliveredTo(fn('nightly'))).toEqual([
      expect.objectContaining({
        version: '0',
        source: 'aws.events',
        'detail-type': 'Scheduled Event',
        account: ACCOUNT,
        region: 'us-east-1',
        resources: [`arn:aws:events:us-east-1:${ACCOUNT}:rule/nightly`],
        detail: {},
      }),
    ]);
    await expect(bus.runSchedule('orders-big')).rejects.toThrow(/Scheduled rule orders-big does not exist/);
  });

  it('idle() resolves once pending deliveries and retries are over', async () => {
    await bus.idle();
    failures.set(fn('slow'), 1);
    bus.putRule({
      name: 'slow',
      eventBusName: 'shop-test',
      eventPattern: { source: ['shop.slow'] },
      targets: [{ id: 'slow', arn: fn('slow') }],
    });
    delivered = [];
    bus.putEvents([entry('shop.slow', { n: 1 }), entry('shop.slow', { n: 2 })]);
    await bus.idle();
    expect(attemptsOf(fn('slow'))).toBe(3); // one failure, then both delivered
    expect(
      deliveredTo(fn('slow'))
        .map((p) => (p as EventEnvelope).detail.n)
        .sort(),
    ).toEqual([1, 2]);
  });

  it('serves ListRules, DescribeRule and ListTargetsByRule', async () => {
    const rules = await client.send(
      new ListRulesCommand({ EventBusName: 'shop-test', NamePrefix: 'orders-' }),
    );
    expect(rules.Rules?.map((r) => r.Name).sort()).toEqual(['orders-big', 'orders-small']);

    const rule = await client.send(
      new DescribeRuleCommand({ Name: 'orders-small', EventBusName: 'shop-test' }),
    );
    expect(rule).toMatchObject({
      Name: 'orders-small',
      Arn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/shop-test/orders-small`,
      State: 'ENABLED',
      EventBusName: 'shop-test',
    });
    expect(JSON.parse(rule.EventPattern ?? '')).toEqual({
      source: ['shop.orders'],
      detail: { total: [{ numeric: ['<', 100] }] },
    });

    const targets = await client.send(
      new ListTargetsByRuleCommand({ Rule: 'orders-big', EventBusName: 'shop-test' }),
    );
    expect(targets.Targets?.map((t) => t.Id)).toEqual(['whole', 'detail', 'constant', 'transformed']);
    expect(targets.Targets?.[1]).toMatchObject({ Arn: fn('detail'), InputPath: '$.detail' });

    const missing = await client
      .send(new DescribeRuleCommand({ Name: 'nope', EventBusName: 'shop-test' }))
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('answers an unknown operation with UnknownOperationException', async () => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.CreateEndpoint' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});
