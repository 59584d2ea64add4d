import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEventBridge, type Rule } from '../../local/eventbridge/bus.ts';

/**
 * EventBridge stores an event before PutEvents answers and delivers it at least once ("Amazon
 * EventBridge event retry policy": events are retried for up to 24 h; consumers must be idempotent).
 * The local bridge keeps accepted events on disk until delivered or dead-lettered, so a crash of the
 * local cloud loses none: a new bridge on the same state directory delivers them.
 */
const dir = mkdtempSync(join(tmpdir(), 'local-eventbridge-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rule: Rule = {
  name: 'orders',
  eventBusName: 'shop',
  eventPattern: { source: ['shop.orders'] },
  targets: [{ id: 'consumer', arn: 'consumer' }],
};

function bridge(invoke: (arn: string, payload: unknown) => Promise<void>) {
  const bus = new LocalEventBridge({
    invoke,
    stateDir: join(dir, 'eventbridge'),
    deadLetterFile: join(dir, 'dl.jsonl'),
    retryBaseDelayMs: 1,
  });
  bus.addBus('shop');
  bus.putRule(rule);
  return bus;
}

describe('the local EventBridge is durable', () => {
  it('redelivers after a restart the events accepted but not yet delivered', async () => {
    // First life: the target hangs (the process is about to be killed), nothing is delivered.
    const first = bridge(() => new Promise(() => {}));
    const put = first.putEvents(
      [1, 2, 3].map((n) => ({
        Source: 'shop.orders',
        DetailType: 'OrderPlaced',
        Detail: JSON.stringify({ n }),
        EventBusName: 'shop',
      })),
    );
    expect(put.FailedEntryCount).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.stats().pending).toBe(3);
    first.close(); // the crash: nothing more happens in this instance

    // Second life on the same state directory.
    const received: unknown[] = [];
    const second = bridge(async (_arn, payload) => {
      received.push(payload);
    });
    expect(second.recover()).toBe(3);
    await second.idle();
    const ids = put.Entries.map((e) => ('EventId' in e ? e.EventId : ''));
    expect((received as { id: string }[]).map((e) => e.id).sort()).toEqual(ids.sort());
    expect(second.stats().pending).toBe(0);
    second.close();

    // Third life: nothing left to redeliver.
    const third = bridge(async () => {});
    expect(third.recover()).toBe(0);
    third.close();
  });

  it('dead-letters a pending event whose rule is gone after the restart, instead of losing it', async () => {
    const first = bridge(() => new Promise(() => {}));
    first.putEvents([
      { Source: 'shop.orders', DetailType: 'OrderPlaced', Detail: '{}', EventBusName: 'shop' },
    ]);
    first.close();
    const second = new LocalEventBridge({
      invoke: async () => {},
      stateDir: join(dir, 'eventbridge'),
      deadLetterFile: join(dir, 'dl.jsonl'),
    });
    second.addBus('shop');
    expect(second.recover()).toBe(1);
    await second.idle();
    expect(second.stats()).toMatchObject({ pending: 0, deadLettered: 1 });
    expect(second.listDeadLetters().at(-1)?.lastError).toMatch(/no longer exists/);
    second.close();
  });

  it('answers PutEvents over HTTP only once the events are on disk, sharing fdatasyncs among concurrent calls', async () => {
    const bus = bridge(() => new Promise(() => {}));
    const journal = join(dir, 'eventbridge', 'pending.jsonl');
    const before = bus.stats().journalSyncs;
    const onDisk: boolean[] = [];
    const puts = Array.from({ length: 20 }, (_, n) =>
      bus
        .putEventsDurably([
          {
            Source: 'shop.orders',
            DetailType: 'OrderPlaced',
            Detail: JSON.stringify({ n }),
            EventBusName: 'shop',
          },
        ])
        .then((put) => {
          // When a caller hears "accepted", its event is in the journal already.
          const entry = put.Entries[0];
          const id = entry && 'EventId' in entry ? entry.EventId : 'none';
          onDisk.push(readFileSync(journal, 'utf8').includes(id));
          return put;
        }),
    );
    const answers = await Promise.all(puts);
    expect(answers.every((a) => a.FailedEntryCount === 0)).toBe(true);
    expect(onDisk).toEqual(Array(20).fill(true));
    expect(bus.stats().pending).toBe(20);
    // Twenty calls in one tick: the first syncs alone, the others wait and share the next sync.
    const syncs = bus.stats().journalSyncs - before;
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThan(20);
    bus.close();

    // And they survive: the next bridge on the directory redelivers every one of them.
    const received: unknown[] = [];
    const next = bridge(async (_arn, payload) => {
      received.push(payload);
    });
    expect(next.recover()).toBe(20);
    await next.idle();
    expect(received).toHaveLength(20);
    next.close();
  });
});
