import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import { requireEnv } from '../../config.ts';
import { eventBridgeClient } from '../../platform/adapters/aws-clients.ts';
import { EXPERIMENT_REQUESTED } from '../domain/constants.ts';

/**
 * The lab's one event: an experiment too long for the API's 29 seconds was accepted (202) and waits
 * for the runner. A lab-internal message on the shop bus, so it lives here rather than among the
 * shop's integration events (`events/schemas.ts`).
 */
export { EXPERIMENT_REQUESTED };

/**
 * `detail` of ConsistencyExperimentRequested: just the id; the parameters are in the stored request.
 *
 * @example
 * const { experimentId } = ExperimentRequestedV1.parse(event.detail);
 */
export const ExperimentRequestedV1 = z.object({
  schemaVersion: z.literal(1),
  experimentId: z.uuid(),
});
export type ExperimentRequestedV1 = z.infer<typeof ExperimentRequestedV1>;

/**
 * Puts ConsistencyExperimentRequested on the shop bus (`EVENT_BUS_NAME`); throws when refused.
 *
 * @example
 * await publishExperimentRequested(experimentId);
 */
export async function publishExperimentRequested(
  experimentId: string,
  busName = requireEnv('EVENT_BUS_NAME'),
): Promise<void> {
  const detail: ExperimentRequestedV1 = { schemaVersion: 1, experimentId };
  const out = await eventBridgeClient().send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: busName,
          Source: EXPERIMENT_REQUESTED.source,
          DetailType: EXPERIMENT_REQUESTED.detailType,
          Detail: JSON.stringify(ExperimentRequestedV1.parse(detail)),
        },
      ],
    }),
  );
  if (out.FailedEntryCount) {
    const entry = out.Entries?.[0];
    throw new Error(`EventBridge refused the experiment request: ${entry?.ErrorCode} ${entry?.ErrorMessage}`);
  }
}
