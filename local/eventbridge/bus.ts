import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { transformInput, validateTargetInput } from './input.ts';
import type { EventPattern } from './pattern.ts';
import { matchesPattern, validatePattern } from './pattern.ts';

export type { EventPattern } from './pattern.ts';

/** A rule target: where matching events go, how they are shaped, and how failures are retried. */
export interface RuleTarget {
  id: string;
  /** Passed to the `invoke` function given to {@link LocalEventBridge}, e.g. a Lambda function ARN. */
  arn: string;
  /** Constant JSON text sent instead of the event. */
  input?: string;
  /** JSONPath of the part of the event to send, e.g. `$.detail`. */
  inputPath?: string;
  /** Variables picked from the event, substituted into a template. */
  inputTransformer?: { inputPathsMap?: Record<string, string>; inputTemplate: string };
  /** Recorded with a dead letter (the local bridge does not send it anywhere). */
  deadLetterArn?: string;
  /** Retries after the first attempt, 0 to 185. AWS defaults to 185; the local bridge to 3. */
  maximumRetryAttempts?: number;
  /** Stop retrying once the event is this old, 60 to 86400 (the default). */
  maximumEventAgeSeconds?: number;
}

/** A rule on an event bus: an event pattern and/or a schedule, and up to five targets. */
export interface Rule {
  name: string;
  eventBusName: string;
  eventPattern?: EventPattern;
  /** `rate(5 minutes)` or `cron(...)`; fired on demand with {@link LocalEventBridge.runSchedule}. */
  scheduleExpression?: string;
  state?: 'ENABLED' | 'DISABLED';
  targets: RuleTarget[];
}

/** The event every target sees (unless transformed), as EventBridge builds it. */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** An event that could not be delivered to a target, after its retries. */
export interface DeadLetterRecord {
  ruleName: string;
  targetId: string;
  targetArn: string;
  deadLetterArn?: string;
  event: EventEnvelope;
  attempts: number;
  lastError: string;
  failedAt: string;
}

/** One entry of a PutEvents request, in the AWS API's shape. `Time` as a number is epoch seconds (the wire form). */
export interface PutEventsRequestEntry {
  Source?: string;
  DetailType?: string;
  /** A JSON object, as text. */
  Detail?: string;
  /** A bus name or ARN; `default` when absent. */
  EventBusName?: string;
  Resources?: string[];
  Time?: Date | number | string;
  TraceHeader?: string;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export interface PutEventsResponse {
  FailedEntryCount: number;
  Entries: PutEventsResultEntry[];
}

export interface LocalEventBridgeOptions {
  /** Delivers a payload to a target; throws (or rejects) on failure, which triggers a retry. */
  invoke: (targetArn: string, payload: unknown) => Promise<void>;
  region?: string;
  accountId?: string;
  /** First retry delay; each retry doubles it, up to {@link MAX_RETRY_DELAY_MS} or the base, whichever is larger. */
  retryBaseDelayMs?: number;
  /** Dead letters are appended here as JSON lines, and read back by {@link LocalEventBridge.listDeadLetters}. */
  deadLetterFile?: string;
  log?: (entry: Record<string, unknown>) => void;
}

/** An error with an AWS error code, e.g. `ValidationException`; the HTTP API answers it as a 400. */
export class EventBridgeError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

/** Retry delays stop doubling here. */
export const MAX_RETRY_DELAY_MS = 5_000;

const DEFAULT_BUS = 'default';
const LOCAL_MAX_RETRY_ATTEMPTS = 3;
const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;
const MAX_HTTP_BODY_BYTES = 1024 * 1024;
const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const RULE_STATES = new Set(['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']);
const SCHEDULE = /^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$/;

/**
 * An in-process Amazon EventBridge for the embedded local cloud: buses, rules with event patterns and schedules,
 * targets with input transformation, asynchronous delivery with retries and exponential backoff, dead letters,
 * and the AWS JSON 1.1 wire protocol so the AWS SDK can publish to it.
 *
 * @example
 * ```ts
 * const bus = new LocalEventBridge({ invoke: (arn, payload) => lambdas.invoke(arn, payload) });
 * bus.addBus('shop-dev');
 * bus.putRule({
 *   name: 'order-placed',
 *   eventBusName: 'shop-dev',
 *   eventPattern: { source: ['shop.orders'], 'detail-type': ['OrderPlaced'] },
 *   targets: [{ id: 'fulfil', arn: 'arn:aws:lambda:us-east-1:000000000000:function:fulfil', inputPath: '$.detail' }],
 * });
 * http.createServer((req, res) => bus.handleHttp(req, res)).listen(4010);
 * // new EventBridgeClient({ endpoint: 'http://127.0.0.1:4010', ... }).send(new PutEventsCommand(...))
 * ```
 */
export class LocalEventBridge {
  readonly #invoke: LocalEventBridgeOptions['invoke'];
  readonly #region: string;
  readonly #account: string;
  readonly #baseDelayMs: number;
  readonly #deadLetterFile: string | undefined;
  readonly #log: (entry: Record<string, unknown>) => void;
  /** Bus name → rule name → rule. */
  readonly #buses = new Map<string, Map<string, Rule>>([[DEFAULT_BUS, new Map()]]);
  readonly #deadLetters: DeadLetterRecord[] = [];
  readonly #pending = new Set<Promise<void>>();

  constructor(opts: LocalEventBridgeOptions) {
    this.#invoke = opts.invoke;
    this.#region = opts.region ?? 'us-east-1';
    this.#account = opts.accountId ?? '000000000000';
    this.#baseDelayMs = Math.max(0, opts.retryBaseDelayMs ?? 50);
    this.#deadLetterFile = opts.deadLetterFile;
    const log = opts.log ?? (() => {});
    this.#log = (entry) => log({ source: 'eventbridge', ...entry });
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
    const error = this.#ruleError(stored);
    if (error) throw error;
    rules.set(stored.name, stored);
  }

  /**
   * Publishes events, with the request and response shapes of the AWS PutEvents API. Each entry is validated
   * on its own (a failed entry does not stop the others); more than 10 entries, or over 256 KiB, throws a
   * `ValidationException`. Matching targets are invoked asynchronously: this returns before any delivery.
   *
   * @example
   * ```ts
   * const { FailedEntryCount, Entries } = bus.putEvents([
   *   { Source: 'shop.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ orderId: 'o-1' }), EventBusName: 'shop-dev' },
   * ]);
   * ```
   */
  putEvents(entries: PutEventsRequestEntry[]): PutEventsResponse {
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
    const results = entries.map((entry) => this.#accept(entry));
    return {
      FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
      Entries: results,
    };
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
    const envelope: EventEnvelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.#account,
      time: isoSeconds(new Date()),
      region: this.#region,
      resources: [this.#ruleArn(rule)],
      detail: {},
    };
    await Promise.all(rule.targets.map((target) => this.#dispatch(rule, target, envelope)));
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

  /**
   * The dead letters: those of this instance and, with `deadLetterFile`, those already in the file.
   *
   * @example
   * ```ts
   * for (const d of bus.listDeadLetters()) console.log(d.ruleName, d.targetId, d.attempts, d.lastError);
   * ```
   */
  listDeadLetters(): DeadLetterRecord[] {
    const fromFile: DeadLetterRecord[] = [];
    const seen = new Set<string>();
    if (this.#deadLetterFile) {
      let text = '';
      try {
        text = readFileSync(this.#deadLetterFile, 'utf8');
      } catch {
        // no file yet
      }
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          fromFile.push(JSON.parse(line) as DeadLetterRecord);
          seen.add(line);
        } catch {
          // a torn line (e.g. a crash mid-write) is skipped
        }
      }
    }
    const onlyInMemory = this.#deadLetters.filter((d) => !seen.has(JSON.stringify(d)));
    return [...fromFile, ...onlyInMemory.map((d) => structuredClone(d))];
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

  /**
   * Serves the EventBridge API over HTTP (AWS JSON 1.1): `PutEvents`, `ListRules`, `DescribeRule` and
   * `ListTargetsByRule`, chosen by the `X-Amz-Target` header. Signatures are not checked. Errors are answered
   * as AWS does (`400 {"__type": "ValidationException", "message": ...}`), so the AWS SDK raises them.
   *
   * @example
   * ```ts
   * const server = http.createServer((req, res) => void bus.handleHttp(req, res));
   * server.listen(0, '127.0.0.1');
   * ```
   */
  async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'POST') {
        throw new EventBridgeError(
          'UnknownOperationException',
          `Method ${req.method} is not supported; use POST`,
        );
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const [service, operation] = target.split('.');
      const body = await readJsonBody(req);
      let result: unknown;
      if (service === 'AWSEvents' && operation === 'PutEvents') {
        result = this.putEvents(body.Entries as PutEventsRequestEntry[]);
      } else if (service === 'AWSEvents' && operation === 'ListRules') {
        result = this.#listRulesApi(body);
      } else if (service === 'AWSEvents' && operation === 'DescribeRule') {
        result = this.#describeRule(this.#findRule(body.Name, body.EventBusName));
      } else if (service === 'AWSEvents' && operation === 'ListTargetsByRule') {
        result = { Targets: this.#findRule(body.Rule, body.EventBusName).targets.map(targetToApi) };
      } else {
        throw new EventBridgeError('UnknownOperationException', `Unknown operation ${target || '(none)'}`);
      }
      send(res, 200, result);
    } catch (error) {
      if (error instanceof EventBridgeError) {
        send(res, 400, { __type: error.code, message: error.message }, error.code);
      } else {
        this.#log({ level: 'ERROR', message: 'request failed', error: describe(error) });
        send(res, 500, { __type: 'InternalException', message: describe(error) }, 'InternalException');
      }
    }
  }

  #accept(entry: PutEventsRequestEntry): PutEventsResultEntry {
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

    const envelope: EventEnvelope = {
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
    for (const rule of rules.values()) {
      if (rule.state === 'DISABLED' || !rule.eventPattern || !matchesPattern(rule.eventPattern, envelope))
        continue;
      for (const target of rule.targets) void this.#dispatch(rule, target, envelope);
    }
    return { EventId: envelope.id };
  }

  /** Starts an asynchronous delivery (never before the caller's current turn ends), tracked for idle(). */
  #dispatch(rule: Rule, target: RuleTarget, event: EventEnvelope): Promise<void> {
    const ingestedAt = Date.now();
    const delivery = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#deliver(rule, target, event, ingestedAt))
      .catch((error) => this.#log({ level: 'ERROR', message: 'delivery crashed', error: describe(error) }));
    this.#pending.add(delivery);
    void delivery.finally(() => this.#pending.delete(delivery));
    return delivery;
  }

  async #deliver(rule: Rule, target: RuleTarget, event: EventEnvelope, ingestedAt: number): Promise<void> {
    const where = { rule: rule.name, eventBus: rule.eventBusName, target: target.id, eventId: event.id };
    let payload: unknown;
    try {
      payload = transformInput(target, event, {
        ruleArn: this.#ruleArn(rule),
        ruleName: rule.name,
        ingestionTime: new Date(ingestedAt).toISOString(),
      });
    } catch (error) {
      this.#deadLetter(rule, target, event, 0, `Input transformation failed: ${describe(error)}`);
      return;
    }
    const maxRetries = target.maximumRetryAttempts ?? LOCAL_MAX_RETRY_ATTEMPTS;
    const maxAgeMs = (target.maximumEventAgeSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
    const maxDelayMs = Math.max(this.#baseDelayMs, MAX_RETRY_DELAY_MS);
    for (let attempts = 1; ; attempts++) {
      let lastError: string;
      try {
        await this.#invoke(target.arn, structuredClone(payload));
        this.#log({ level: 'DEBUG', message: 'delivered', ...where, attempts });
        return;
      } catch (error) {
        lastError = describe(error);
      }
      const delayMs = Math.min(this.#baseDelayMs * 2 ** (attempts - 1), maxDelayMs);
      if (attempts > maxRetries || Date.now() + delayMs - ingestedAt > maxAgeMs) {
        this.#deadLetter(rule, target, event, attempts, lastError);
        return;
      }
      this.#log({
        level: 'WARN',
        message: 'target failed, retrying',
        ...where,
        attempts,
        delayMs,
        error: lastError,
      });
      await sleep(delayMs);
    }
  }

  #deadLetter(
    rule: Rule,
    target: RuleTarget,
    event: EventEnvelope,
    attempts: number,
    lastError: string,
  ): void {
    const record: DeadLetterRecord = {
      ruleName: rule.name,
      targetId: target.id,
      targetArn: target.arn,
      ...(target.deadLetterArn ? { deadLetterArn: target.deadLetterArn } : {}),
      event,
      attempts,
      lastError,
      failedAt: new Date().toISOString(),
    };
    this.#deadLetters.push(record);
    this.#log({
      level: 'ERROR',
      message: 'event dead-lettered',
      ...record,
      event: undefined,
      eventId: event.id,
    });
    if (this.#deadLetterFile) {
      try {
        mkdirSync(dirname(this.#deadLetterFile), { recursive: true });
        appendFileSync(this.#deadLetterFile, `${JSON.stringify(record)}\n`);
      } catch (error) {
        this.#log({
          level: 'ERROR',
          message: 'cannot write dead letter file',
          error: describe(error),
        });
      }
    }
  }

  #ruleError(rule: Rule): EventBridgeError | undefined {
    const invalid = (message: string) => new EventBridgeError('ValidationException', message);
    if (typeof rule.name !== 'string' || !NAME.test(rule.name))
      return invalid(`Rule name "${rule.name}" is not valid`);
    if (rule.eventPattern === undefined && rule.scheduleExpression === undefined) {
      return invalid('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    }
    if (rule.eventPattern !== undefined) {
      const reason = validatePattern(rule.eventPattern);
      if (reason)
        return new EventBridgeError(
          'InvalidEventPatternException',
          `Event pattern is not valid. Reason: ${reason}`,
        );
    }
    if (rule.scheduleExpression !== undefined) {
      if (!SCHEDULE.test(rule.scheduleExpression))
        return invalid('Parameter ScheduleExpression is not valid.');
      if (rule.eventBusName !== DEFAULT_BUS)
        return invalid('ScheduleExpression is supported only on the default event bus.');
    }
    if (rule.state !== undefined && !RULE_STATES.has(rule.state)) {
      return invalid(`State "${rule.state}" is not valid`);
    }
    if (!Array.isArray(rule.targets)) return invalid('targets must be an array');
    if (rule.targets.length > 5) return invalid('A rule can have at most 5 targets');
    const ids = new Set<string>();
    for (const t of rule.targets) {
      if (typeof t.id !== 'string' || !NAME.test(t.id)) return invalid(`Target id "${t.id}" is not valid`);
      if (ids.has(t.id)) return invalid(`Target id "${t.id}" is used twice`);
      ids.add(t.id);
      if (typeof t.arn !== 'string' || t.arn === '') return invalid(`Target ${t.id}: Arn is required`);
      const inputError = validateTargetInput(t);
      if (inputError) return invalid(`Target ${t.id}: ${inputError}`);
      const retries = t.maximumRetryAttempts;
      if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0 && retries <= 185)) {
        return invalid(`Target ${t.id}: MaximumRetryAttempts must be an integer from 0 to 185`);
      }
      const age = t.maximumEventAgeSeconds;
      if (age !== undefined && !(Number.isInteger(age) && age >= 60 && age <= 86_400)) {
        return invalid(`Target ${t.id}: MaximumEventAgeInSeconds must be an integer from 60 to 86400`);
      }
    }
    return undefined;
  }

  #ruleArn(rule: Rule): string {
    const path = rule.eventBusName === DEFAULT_BUS ? rule.name : `${rule.eventBusName}/${rule.name}`;
    return `arn:aws:events:${this.#region}:${this.#account}:rule/${path}`;
  }

  #findRule(name: unknown, busName: unknown): Rule {
    const bus = busNameOf(typeof busName === 'string' ? busName : undefined);
    const rule = typeof name === 'string' ? this.#buses.get(bus)?.get(name) : undefined;
    if (!rule)
      throw new EventBridgeError(
        'ResourceNotFoundException',
        `Rule ${String(name)} does not exist on EventBus ${bus}.`,
      );
    return rule;
  }

  #listRulesApi(body: Record<string, unknown>): { Rules: unknown[] } {
    const bus = busNameOf(typeof body.EventBusName === 'string' ? body.EventBusName : undefined);
    const rules = this.#buses.get(bus);
    if (!rules) throw new EventBridgeError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
    const prefix = typeof body.NamePrefix === 'string' ? body.NamePrefix : '';
    return {
      Rules: [...rules.values()].filter((r) => r.name.startsWith(prefix)).map((r) => this.#describeRule(r)),
    };
  }

  #describeRule(rule: Rule): Record<string, unknown> {
    return {
      Name: rule.name,
      Arn: this.#ruleArn(rule),
      EventBusName: rule.eventBusName,
      State: rule.state ?? 'ENABLED',
      ...(rule.eventPattern ? { EventPattern: JSON.stringify(rule.eventPattern) } : {}),
      ...(rule.scheduleExpression ? { ScheduleExpression: rule.scheduleExpression } : {}),
      CreatedBy: this.#account,
    };
  }
}

function targetToApi(t: RuleTarget): Record<string, unknown> {
  return {
    Id: t.id,
    Arn: t.arn,
    ...(t.input !== undefined ? { Input: t.input } : {}),
    ...(t.inputPath !== undefined ? { InputPath: t.inputPath } : {}),
    ...(t.inputTransformer
      ? {
          InputTransformer: {
            InputPathsMap: t.inputTransformer.inputPathsMap,
            InputTemplate: t.inputTransformer.inputTemplate,
          },
        }
      : {}),
    ...(t.deadLetterArn ? { DeadLetterConfig: { Arn: t.deadLetterArn } } : {}),
    RetryPolicy: {
      MaximumRetryAttempts: t.maximumRetryAttempts ?? LOCAL_MAX_RETRY_ATTEMPTS,
      MaximumEventAgeInSeconds: t.maximumEventAgeSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS,
    },
  };
}

/** `shop-dev` or `arn:aws:events:us-east-1:123456789012:event-bus/shop-dev` → `shop-dev`. */
function busNameOf(nameOrArn: string | undefined): string {
  if (!nameOrArn) return DEFAULT_BUS;
  const arn = /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(nameOrArn);
  return arn ? (arn[1] as string) : nameOrArn;
}

function parsePattern(text: string): EventPattern {
  try {
    return JSON.parse(text) as EventPattern;
  } catch {
    throw new EventBridgeError(
      'InvalidEventPatternException',
      'Event pattern is not valid. Reason: not valid JSON',
    );
  }
}

function toDate(time: PutEventsRequestEntry['Time']): Date {
  const date =
    time instanceof Date
      ? time
      : typeof time === 'number'
        ? new Date(time * 1000)
        : time
          ? new Date(time)
          : new Date();
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

/** EventBridge's time format: ISO 8601 without milliseconds. */
const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_HTTP_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_HTTP_BODY_BYTES)
    throw new EventBridgeError('ValidationException', 'Request body is too large.');
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EventBridgeError('SerializationException', 'Request body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EventBridgeError('SerializationException', 'Request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}
