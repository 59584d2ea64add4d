/**
 * The EventBridge model: buses, rules, targets, envelopes, dead letters, the PutEvents shapes, and
 * the validation AWS applies to them.
 *
 * @module
 */
import { validateTargetInput } from './input.ts';
import type { EventPattern } from './pattern.ts';
import { validatePattern } from './pattern.ts';

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

export const DEFAULT_BUS = 'default';
export const LOCAL_MAX_RETRY_ATTEMPTS = 3;
export const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;
export const MAX_ENTRIES = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;
export const MAX_HTTP_BODY_BYTES = 1024 * 1024;
const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const RULE_STATES = new Set(['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']);
const SCHEDULE = /^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$/;

/** Why a rule cannot be stored (AWS's validation), or undefined when it is valid. */
export function ruleError(rule: Rule): EventBridgeError | undefined {
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
    if (!SCHEDULE.test(rule.scheduleExpression)) return invalid('Parameter ScheduleExpression is not valid.');
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

export function targetToApi(t: RuleTarget): Record<string, unknown> {
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
export function busNameOf(nameOrArn: string | undefined): string {
  if (!nameOrArn) return DEFAULT_BUS;
  const arn = /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(nameOrArn);
  return arn ? (arn[1] as string) : nameOrArn;
}

export function parsePattern(text: string): EventPattern {
  try {
    return JSON.parse(text) as EventPattern;
  } catch {
    throw new EventBridgeError(
      'InvalidEventPatternException',
      'Event pattern is not valid. Reason: not valid JSON',
    );
  }
}

export function toDate(time: PutEventsRequestEntry['Time']): Date {
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
export const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
