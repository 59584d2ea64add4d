import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { buildEvent, type EventName, type NewEvent } from '../../../events/schemas.ts';
import { requireEnv } from '../../config.ts';
import { logger } from '../../observability.ts';
import { eventBridgeClient } from './aws-clients.ts';

/** An event ready to send: what `buildEvent` returns. */
export type BuiltEvent = ReturnType<typeof buildEvent>;

/**
 * Sends events to the shop bus (`EVENT_BUS_NAME`), 10 per call as EventBridge allows. Throws when any
 * entry is refused, so callers (the outbox relay) keep what was not sent.
 */
export async function publishEvents(
  events: BuiltEvent[],
  busName = requireEnv('EVENT_BUS_NAME'),
): Promise<void> {
  for (let i = 0; i < events.length; i += 10) {
    const batch = events.slice(i, i + 10);
    const out = await eventBridgeClient().send(
      new PutEventsCommand({
        Entries: batch.map((e) => ({
          EventBusName: busName,
          Source: e.source,
          DetailType: e.name,
          Detail: JSON.stringify(e.detail),
        })),
      }),
    );
    if (out.FailedEntryCount) {
      const first = out.Entries?.find((entry) => entry.ErrorCode);
      throw new Error(
        `EventBridge refused ${out.FailedEntryCount} event(s): ${first?.ErrorCode} ${first?.ErrorMessage}`,
      );
    }
  }
}

/** Builds and sends one event (for producers without an outbox, e.g. the DynamoDB-backed catalog). */
export async function publish<N extends EventName>(event: NewEvent<N>): Promise<void> {
  await publishEvents([buildEvent(event)]);
}

/**
 * Runs an outbox relay right after a commit, so events go out at once. A failure (EventBridge down,
 * throttled) is only logged: the events wait in the outbox for the scheduled relay, and the request
 * that committed them still succeeds.
 *
 * @example
 * await relayAfterCommit(() => relayOutbox());
 */
export async function relayAfterCommit(relay: () => Promise<unknown>): Promise<void> {
  try {
    await relay();
  } catch (error) {
    logger.warn('outbox relay after commit failed; the scheduled relay will send the events', {
      error: error as Error,
    });
  }
}
