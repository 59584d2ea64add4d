import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sfnClient } from '../../platform/adapters/aws-clients.ts';

/** A run id: readable, sortable, and a valid execution name (≤ 80 characters, no spaces). */
export const newRunId = (date: string, now = new Date()) =>
  `etl-${date}-${now
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}-${crypto.randomUUID().slice(0, 8)}`;

/** Starts the pipeline for one day; the execution's name is the run id. */
export async function startPipeline(
  stateMachineArn: string,
  input: { date: string; runId?: string },
): Promise<{ runId: string; executionArn: string }> {
  const runId = input.runId ?? newRunId(input.date);
  const out = await sfnClient().send(
    new StartExecutionCommand({
      stateMachineArn,
      name: runId,
      input: JSON.stringify({ date: input.date }),
    }),
  );
  return { runId, executionArn: out.executionArn as string };
}
