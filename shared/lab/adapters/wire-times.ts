/**
 * When an SDK request really left and its answer really arrived, for the lab's t-visibility.
 *
 * A PBS delay `t` is the time between a write's acknowledgement and the read reaching a replica.
 * Timing the whole `client.send()` adds the SDK's own work (building, signing, retries' back-off,
 * parsing) to both ends, a few milliseconds on a busy machine: at t = 0 with a 20 ms mean lag that
 * alone moves the PBS prediction by several points. A middleware in the `deserialize` step with
 * `low` priority runs innermost, right around the HTTP handler of the attempt that succeeded, so
 * it records the request leaving for the wire and the response arriving from it. Works against
 * AWS unchanged (it only reads the clock).
 *
 * @example
 * ```ts
 * const put = wireTimed(new PutCommand({ TableName, Item }));
 * await client.send(put.command);
 * const get = wireTimed(new GetCommand({ TableName, Key }));
 * await client.send(get.command);
 * const delay = (get.times.sent ?? 0) - (put.times.received ?? 0); // ack → read on the wire
 * ```
 *
 * @module
 */
import { AS_OF_HEADER } from '../domain/lag-model.ts';

/** `performance.now()` when the (last) attempt went out and when its answer came back. */
export interface WireTimes {
  sent?: number;
  received?: number;
  /**
   * The coordinator's clock on the answer ({@link AS_OF_HEADER}), where the store states it (the
   * local cloud's replicated DynamoDB does; AWS does not): when the read arrived there, or when the
   * write was acknowledged. Two of them from one store give PBS's t without the client's legs.
   */
  asOf?: number;
}

/** What the HTTP handler answers, as far as this middleware reads it. */
interface HttpOut {
  response?: { headers?: Record<string, string | undefined> };
}

interface WithStack {
  middlewareStack: {
    add(
      middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
      options: { step: 'deserialize'; priority: 'low' },
    ): void;
  };
}

/** Adds the wire-time middleware to one command; `times` (new, or the one given) fills in as it is sent. */
export function wireTimed<C>(command: C, times: WireTimes = {}): { command: C; times: WireTimes } {
  (command as unknown as WithStack).middlewareStack.add(
    (next) => async (args) => {
      times.sent = performance.now();
      times.received = undefined;
      times.asOf = undefined;
      const out = await next(args);
      times.received = performance.now();
      const stated = Number((out as HttpOut).response?.headers?.[AS_OF_HEADER] ?? Number.NaN);
      if (Number.isFinite(stated)) times.asOf = stated;
      return out;
    },
    // No name: lib-dynamodb concatenates the command's stack with itself, and names must be unique.
    // Where it then runs twice, both copies record (nearly) the same instants.
    { step: 'deserialize', priority: 'low' },
  );
  return { command, times };
}
