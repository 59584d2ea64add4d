/**
 * Asynchronous delivery to one target with EventBridge's retry policy: exponential backoff, at
 * most `maximumRetryAttempts` retries, no retry once the event is older than `maximumEventAgeSeconds`.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_MAX_EVENT_AGE_SECONDS,
  describe,
  LOCAL_MAX_RETRY_ATTEMPTS,
  MAX_RETRY_DELAY_MS,
  type RuleTarget,
} from './model.ts';

export type DeliveryOutcome =
  | { delivered: true; attempts: number }
  | { delivered: false; attempts: number; lastError: string };

/**
 * Invokes `target` with `payload` until it succeeds or the retry policy gives up.
 *
 * @example
 * const outcome = await deliverWithRetries({ target, payload, ingestedAt: Date.now(), baseDelayMs: 50, invoke, onRetry: log });
 * if (!outcome.delivered) deadLetter(outcome.lastError);
 */
export async function deliverWithRetries(args: {
  target: RuleTarget;
  payload: unknown;
  ingestedAt: number;
  baseDelayMs: number;
  invoke: (targetArn: string, payload: unknown) => Promise<void>;
  onRetry: (attempts: number, delayMs: number, error: string) => void;
}): Promise<DeliveryOutcome> {
  const { target, payload, ingestedAt, baseDelayMs } = args;
  const maxRetries = target.maximumRetryAttempts ?? LOCAL_MAX_RETRY_ATTEMPTS;
  const maxAgeMs = (target.maximumEventAgeSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
  const maxDelayMs = Math.max(baseDelayMs, MAX_RETRY_DELAY_MS);
  for (let attempts = 1; ; attempts++) {
    let lastError: string;
    try {
      await args.invoke(target.arn, structuredClone(payload));
      return { delivered: true, attempts };
    } catch (error) {
      lastError = describe(error);
    }
    const delayMs = Math.min(baseDelayMs * 2 ** (attempts - 1), maxDelayMs);
    if (attempts > maxRetries || Date.now() + delayMs - ingestedAt > maxAgeMs) {
      return { delivered: false, attempts, lastError };
    }
    args.onRetry(attempts, delayMs, lastError);
    await sleep(delayMs);
  }
}
