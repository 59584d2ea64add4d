/**
 * The local EventBridge: buses and rules ({@link LocalEventBridge}), built from small parts —
 * `model.ts` (shapes and validation), `store.ts` (durable pending deliveries and dead letters),
 * `delivery.ts` (retries) and `wire.ts` (the AWS JSON 1.1 protocol).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deliverWithRetries } from './delivery.ts';
import { transformInput } from './input.ts';
import {
  busNameOf,
  DEFAULT_BUS,
  type DeadLetterRecord,
  describe,
  EventBridgeError,
  type EventEnvelope,
  isoSeconds,
  MAX_ENTRIES,
  MAX_REQUEST_BYTES,
  type PutEventsRequestEntry,
  type PutEventsResponse,
  type PutEventsResultEntry,
  parsePattern,
  type Rule,
  type RuleTarget,
  ruleError,
  toDate,
} from './model.ts';
import { matchesPattern } from './pattern.ts';
import { DeadLetterLog, DeliveryStore, type PendingDelivery } from './store.ts';
import { handleEventBridgeHttp } from './wire.ts';

export type {
  DeadLetterRecord,
  EventEnvelope,
  EventPattern,
  PutEventsRequestEntry,
  PutEventsResponse,
  PutEventsResultEntry,
  Rule,
  RuleTarget,
} from './model.ts';
export { EventBridgeError, MAX_RETRY_DELAY_MS } from './model.ts';

export interface LocalEventBridgeOptions {
  /** Delivers a payload to a target; throws (or rejects) on failure, which triggers a retry. */
  invoke: (targetArn: string, payload: unknown) => Promise<void>;
  region?: string;
  accountId?: string;
  /** First retry delay; each retry doubles it, up to {@link MAX_RETRY_DELAY_MS} or the base, whichever is larger. */
  retryBaseDelayMs?: number;
  /** Dead letters are appended here as JSON lines, and read back by {@link LocalEventBridge.listDeadLetters}. */
  deadLetterFile?: string;
  /**
   * Where accepted events wait until delivered or dead-lettered (`pending.jsonl`). With it, an
   * accepted event survives a crash and {@link LocalEventBridge.recover} delivers it after a restart.
   * Without it, pending deliveries live in memory only.
   */
  stateDir?: string;
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * An in-process Amazon EventBridge for the embedded local cloud: buses, rules with event patterns and schedules,
 * targets with input transformation, asynchronous at-least-once delivery with retries and exponential backoff,
 * dead letters, and the AWS JSON 1.1 wire protocol so the AWS SDK can publish to it.
 *
 * @example
 * ```ts
 * const bus = new LocalEventBridge({ invoke: (arn, payload) => lambdas.invoke(arn, payload), stateDir: '.local/eventbridge' });
 * bus.addBus('shop-dev');
 * bus.putRule({
 *   name: 'order-placed',
 *   eventBusName: 'shop-dev',
 *   eventPattern: { source: ['shop.orders'], 'detail-type': ['OrderPlaced'] },
 *   targets: [{ id: 'fulfil', arn: 'arn:aws:lambda:us-east-1:000000000000:function:fulfil', inputPath: '$.detail' }],
 * });
 * bus.recover(); // redeliver what a crash left pending
 * http.createServer((req, res) => bus.handleHttp(req, res)).listen(4010);
 * ```
 */
export class LocalEventBridge {
  readonly #invoke: LocalEventBridgeOptions['invoke'];
  readonly #region: string;
  readonly #account: string;
  readonly #baseDelayMs: number;
  readonly #log: (entry: Record<string, unknown>) => void;
  /** Bus name → rule name → rule. */
  readonly #buses = new Map<string, Map<string, Rule>>([[DEFAULT_BUS, new Map()]]);
  readonly #store: DeliveryStore;
  readonly #deadLetters: DeadLetterLog;
  readonly #pending = new Set<Promise<void>>();
  readonly #counts = { accepted: 0, delivered: 0, deadLettered: 0, redelivered: 0 };

  constructor(opts: LocalEventBridgeOptions) {
    this.#invoke = opts.invoke;
    this.#region = opts.region ?? 'us-east-1';
    this.#account = opts.accountId ?? '000000000000';
    this.#baseDelayMs = Math.max(0, opts.retryBaseDelayMs ?? 50);
    const log = opts.log ?? (() => {});
    this.#log = (entry) => log({ source: 'eventbridge', ...entry });
    this.#store = new DeliveryStore(opts.stateDir);
    this.#deadLetters = new DeadLetterLog(opts.deadLetterFile, (error) =>
      this.#log({ level: 'ERROR', message: 'cannot write dead letter file', error: describe(error) }),
    );
  }

  /**
   * Creates a custom event bus; does nothing when it exists. The `default` bus always exists.
   *
   * @example
   * ```ts
   * bus.addBus('shop-dev');
   * ```
   */
  addBus(name: string): void {
    if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name)) {
      throw new EventBridgeError('ValidationException', `Event bus name "${name}" is not valid`);
    }
    if (!this.#buses.has(name)) this.#buses.set(name, new Map());
  }

  /**
   * Creates or replaces a rule and its targets. Throws an {@link EventBridgeError} when the bus does not exist,
   * the pattern is invalid (`InvalidEventPatternException`) or the rule or a target is (`ValidationException`).
   *
   * @example
   * ```ts
   * bus.putRule({
   *   name: 'big-orders',
   *   eventBusName: 'shop-dev',
   *   eventPattern: { source: ['shop.orders'], detail: { total: [{ numeric: ['>=', 1000] }] } },
   *   targets: [{ id: 'notify', arn: notifyArn, maximumRetryAttempts: 2 }],
   * });
   * ```
   */
  putRule(rule: Rule): void {
    const stored: Rule = { ...structuredClone(rule), eventBusName: busNameOf(rule.eventBusName) };
    // CloudFormation allows the pattern as JSON text.
    if (typeof stored.eventPattern === 'string') stored.eventPattern = parsePattern(stored.eventPattern);
    const rules = this.#buses.get(stored.eventBusName);
    if (!rules) {
      throw new EventBridgeError(
        'ResourceNotFoundException',
        `Event bus ${stored.eventBusName} does not exist.`,
      );
    }
    const error = ruleError(stored);
    if (error) throw error;
    rules.set(stored.name, stored);
  }

  /**
   * Publishes events, with the request and response shapes of the AWS PutEvents API. Each entry is validated
   * on its own (a failed entry does not stop the others); more than 10 entries, or over 256 KiB, throws a
   * `ValidationException`. Matching deliveries are stored durably (with a `stateDir`) before this returns,
   * and made asynchronously: this returns before any delivery.
   *
   * @example
   * ```ts
   * const { FailedEntryCount, Entries } = bus.putEvents([
   *   { Source: 'shop.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ orderId: 'o-1' }), EventBusName: 'shop-dev' },
   * ]);
   * ```
   */
  putEvents(entries: PutEventsRequestEntry[]): PutEventsResponse {
    const { deliveries, response } = this.#acceptAll(entries);
    this.#store.add(deliveries); // durable before the caller hears "accepted"
    for (const delivery of deliveries) void this.#dispatch(delivery);
    return response;
  }

  /**
   * {@link putEvents} for a server (the HTTP API uses it): the same answer, given once the deliveries
   * are on disk, but the disk write does not block the event loop, and concurrent calls share one
   * fdatasync (group commit). Rejects, accepting nothing, when the journal cannot be written.
   *
   * @example
   * ```ts
   * const { FailedEntryCount } = await bus.putEventsDurably(entries);
   * ```
   */
  async putEventsDurably(entries: PutEventsRequestEntry[]): Promise<PutEventsResponse> {
    const { deliveries, response } = this.#acceptAll(entries);
    await this.#store.addDurably(deliveries); // durable before the caller hears "accepted"
    for (const delivery of deliveries) void this.#dispatch(delivery);
    return response;
  }

  /** Validates a PutEvents request and turns its entries into results and matching deliveries. */
  #acceptAll(entries: PutEventsRequestEntry[]): {
    deliveries: PendingDelivery[];
    response: PutEventsResponse;
  } {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) {
      const count = Array.isArray(entries) ? entries.length : 0;
      throw new EventBridgeError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES} (got ${count})`,
      );
    }
    if (Buffer.byteLength(JSON.stringify(entries)) > MAX_REQUEST_BYTES) {
      throw new EventBridgeError(
        'ValidationException',
        'Total size of the entries in the request is over the limit.',
      );
    }
    const deliveries: PendingDelivery[] = [];
    const results = entries.map((entry) => this.#accept(entry, deliveries));
    return {
      deliveries,
      response: { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results },
    };
  }

  /**
   * Delivers what an earlier run accepted and did not finish (it crashed or was stopped), once the
   * rules are deployed again. A delivery whose rule or target no longer exists is dead-lettered.
   * Returns how many were redelivered.
   */
  recover(): number {
    const pending = this.#store.pending();
    for (const delivery of pending) {
      this.#counts.redelivered++;
      void this.#dispatch(delivery);
    }
    if (pending.length > 0)
      this.#log({
        level: 'INFO',
        message: 'redelivering events accepted before a restart',
        count: pending.length,
      });
    return pending.length;
  }

  /**
   * Fires a scheduled rule now, as its schedule would: every target gets a `Scheduled Event` envelope (source
   * `aws.events`, the rule's ARN in `resources`, `detail` `{}`). Resolves once delivery (with its retries) is
   * over; a disabled rule delivers nothing.
   *
   * @example
   * ```ts
   * bus.putRule({ name: 'nightly-export', eventBusName: 'default', scheduleExpression: 'cron(0 2 * * ? *)', targets });
   * await bus.runSchedule('nightly-export');
   * ```
   */
  async runSchedule(ruleName: string): Promise<void> {
    const rule = this.#buses.get(DEFAULT_BUS)?.get(ruleName);
    if (!rule?.scheduleExpression) {
      throw new EventBridgeError('ResourceNotFoundException', `Scheduled rule ${ruleName} does not exist.`);
    }
    if (rule.state === 'DISABLED') {
      this.#log({ level: 'INFO', message: 'scheduled rule is disabled', rule: ruleName });
      return;
    }
    const event: EventEnvelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.#account,
      time: isoSeconds(new Date()),
      region: this.#region,
      resources: [this.ruleArn(rule)],
      detail: {},
    };
    const deliveries = rule.targets.map((target) => this.#delivery(rule, target, event));
    this.#store.add(deliveries);
    await Promise.all(deliveries.map((d) => this.#dispatch(d)));
  }

  /**
   * The rules of every bus (copies).
   *
   * @example
   * ```ts
   * bus.listRules().filter((r) => r.eventBusName === 'shop-dev');
   * ```
   */
  listRules(): Rule[] {
    return [...this.#buses.values()].flatMap((rules) => [...rules.values()].map((r) => structuredClone(r)));
  }

  /** The rules of one bus (copies), or undefined when there is no such bus. */
  rulesOf(eventBusName: string): Rule[] | undefined {
    const rules = this.#buses.get(eventBusName);
    return rules ? [...rules.values()].map((r) => structuredClone(r)) : undefined;
  }

  /**
   * The dead letters: those of this instance and, with `deadLetterFile`, those already in the file.
   *
   * @example
   * ```ts
   * for (const d of bus.listDeadLetters()) console.log(d.ruleName, d.targetId, d.attempts, d.lastError);
   * ```
   */
  listDeadLetters(): DeadLetterRecord[] {
    return this.#deadLetters.list();
  }

  /**
   * Deliveries accepted and not finished (on disk with a `stateDir`), counters since start, and the
   * fdatasync calls the journal made (fewer than the PutEvents calls when group commit shared them).
   */
  stats(): {
    pending: number;
    accepted: number;
    delivered: number;
    deadLettered: number;
    redelivered: number;
    journalSyncs: number;
  } {
    return { pending: this.#store.size, ...this.#counts, journalSyncs: this.#store.syncs };
  }

  /**
   * Resolves when no delivery or retry is pending, including deliveries started while waiting.
   *
   * @example
   * ```ts
   * bus.putEvents(entries);
   * await bus.idle(); // every matching target has been invoked, or dead-lettered
   * ```
   */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Closes the journal (after {@link idle}, or to leave deliveries pending for the next run). */
  close(): void {
    this.#store.close();
  }

  /**
   * Serves the EventBridge API over HTTP (AWS JSON 1.1): `PutEvents`, `ListRules`, `DescribeRule` and
   * `ListTargetsByRule`, chosen by the `X-Amz-Target` header.
   *
   * @example
   * ```ts
   * const server = http.createServer((req, res) => void bus.handleHttp(req, res));
   * server.listen(0, '127.0.0.1');
   * ```
   */
  handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const api = {
      putEvents: (entries: PutEventsRequestEntry[]) => this.putEventsDurably(entries),
      rulesOf: (eventBusName: string) => this.rulesOf(eventBusName),
      ruleArn: (rule: Rule) => this.ruleArn(rule),
    };
    return handleEventBridgeHttp(api, req, res, this.#log);
  }

  ruleArn(rule: Rule): string {
    const path = rule.eventBusName === DEFAULT_BUS ? rule.name : `${rule.eventBusName}/${rule.name}`;
    return `arn:aws:events:${this.#region}:${this.#account}:rule/${path}`;
  }

  #accept(entry: PutEventsRequestEntry, deliveries: PendingDelivery[]): PutEventsResultEntry {
    const failed = (ErrorCode: string, ErrorMessage: string) => ({ ErrorCode, ErrorMessage });
    for (const field of ['Source', 'DetailType', 'Detail'] as const) {
      if (typeof entry?.[field] !== 'string' || entry[field] === '') {
        return failed(
          'InvalidArgument',
          `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
        );
      }
    }
    const { Source, DetailType, Detail } = entry as Required<
      Pick<PutEventsRequestEntry, 'Source' | 'DetailType' | 'Detail'>
    >;
    if (Source.startsWith('aws.'))
      return failed('NotAuthorizedForSourceException', 'Not authorized for the source.');
    let detail: unknown;
    try {
      detail = JSON.parse(Detail);
    } catch {
      detail = undefined;
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return failed('MalformedDetail', 'Detail is malformed.');
    }
    const busName = busNameOf(entry.EventBusName);
    const rules = this.#buses.get(busName);
    if (!rules) return failed('ResourceNotFoundException', `Event bus ${busName} does not exist.`);
    const resources = entry.Resources ?? [];
    if (!Array.isArray(resources) || resources.some((r) => typeof r !== 'string')) {
      return failed(
        'InvalidArgument',
        'Parameter Resources is not valid. Reason: Resources must be strings.',
      );
    }
    const event: EventEnvelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': DetailType,
      source: Source,
      account: this.#account,
      time: isoSeconds(toDate(entry.Time)),
      region: this.#region,
      resources: [...resources],
      detail: detail as Record<string, unknown>,
    };
    this.#counts.accepted++;
    for (const rule of rules.values()) {
      if (rule.state === 'DISABLED' || !rule.eventPattern || !matchesPattern(rule.eventPattern, event))
        continue;
      for (const target of rule.targets) deliveries.push(this.#delivery(rule, target, event));
    }
    return { EventId: event.id };
  }

  #delivery(rule: Rule, target: RuleTarget, event: EventEnvelope): PendingDelivery {
    return {
      id: randomUUID(),
      eventBusName: rule.eventBusName,
      ruleName: rule.name,
      targetId: target.id,
      event,
      ingestedAt: Date.now(),
    };
  }

  /** Starts an asynchronous delivery (never before the caller's current turn ends), tracked for idle(). */
  #dispatch(delivery: PendingDelivery): Promise<void> {
    const run = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#deliver(delivery))
      .catch((error) => this.#log({ level: 'ERROR', message: 'delivery crashed', error: describe(error) }));
    this.#pending.add(run);
    void run.finally(() => this.#pending.delete(run));
    return run;
  }

  async #deliver(delivery: PendingDelivery): Promise<void> {
    const { event, ingestedAt } = delivery;
    const rule = this.#buses.get(delivery.eventBusName)?.get(delivery.ruleName);
    const target = rule?.targets.find((t) => t.id === delivery.targetId);
    if (!rule || !target) {
      const gone: RuleTarget = { id: delivery.targetId, arn: '' };
      const ghost: Rule = { name: delivery.ruleName, eventBusName: delivery.eventBusName, targets: [] };
      this.#deadLetter(delivery, ghost, gone, 0, 'The rule or target no longer exists');
      return;
    }
    const where = { rule: rule.name, eventBus: rule.eventBusName, target: target.id, eventId: event.id };
    let payload: unknown;
    try {
      payload = transformInput(target, event, {
        ruleArn: this.ruleArn(rule),
        ruleName: rule.name,
        ingestionTime: new Date(ingestedAt).toISOString(),
      });
    } catch (error) {
      this.#deadLetter(delivery, rule, target, 0, `Input transformation failed: ${describe(error)}`);
      return;
    }
    const outcome = await deliverWithRetries({
      target,
      payload,
      ingestedAt,
      baseDelayMs: this.#baseDelayMs,
      invoke: this.#invoke,
      onRetry: (attempts, delayMs, error) =>
        this.#log({ level: 'WARN', message: 'target failed, retrying', ...where, attempts, delayMs, error }),
    });
    if (outcome.delivered) {
      this.#counts.delivered++;
      this.#store.done(delivery.id);
      this.#log({ level: 'DEBUG', message: 'delivered', ...where, attempts: outcome.attempts });
    } else {
      this.#deadLetter(delivery, rule, target, outcome.attempts, outcome.lastError);
    }
  }

  #deadLetter(
    delivery: PendingDelivery,
    rule: Rule,
    target: RuleTarget,
    attempts: number,
    lastError: string,
  ): void {
    const record: DeadLetterRecord = {
      ruleName: rule.name,
      targetId: target.id,
      targetArn: target.arn,
      ...(target.deadLetterArn ? { deadLetterArn: target.deadLetterArn } : {}),
      event: delivery.event,
      attempts,
      lastError,
      failedAt: new Date().toISOString(),
    };
    this.#deadLetters.add(record); // durable before the delivery leaves the journal
    this.#store.done(delivery.id);
    this.#counts.deadLettered++;
    this.#log({
      level: 'ERROR',
      message: 'event dead-lettered',
      ...record,
      event: undefined,
      eventId: delivery.event.id,
    });
  }
}
