import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from '../../config.ts';
import { dynamoDocumentClient } from '../../platform/adapters/aws-clients.ts';
import type { Stage } from './state.ts';

/**
 * Fault injection for the pipeline's own tests: a run's input may ask a stage to fail, always or
 * once, or to crash (the process exits) just before it publishes. Honoured only where the stack
 * turned it on (`ETL_FAULT_INJECTION=enabled`, the local target); ignored everywhere else.
 */
export interface Fault {
  stage: Stage;
  mode: 'always' | 'once' | 'crash' | 'crash-once';
}

export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

const enabled = () => process.env.ETL_FAULT_INJECTION === 'enabled';

/** True the first time it is asked for this run and stage, false after (a conditional write). */
async function firstTime(runId: string, stage: Stage): Promise<boolean> {
  try {
    await dynamoDocumentClient().send(
      new PutCommand({
        TableName: requireEnv('ETL_STATE_TABLE'),
        Item: { pk: `FAULT#${runId}`, sk: stage },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** At the start of a stage: fails it when asked (`always`, or `once`: the first attempt only). */
export async function maybeFail(runId: string, stage: Stage, faults: Fault[] | undefined): Promise<void> {
  if (!enabled()) return;
  for (const fault of faults ?? []) {
    if (fault.stage !== stage) continue;
    if (fault.mode === 'always') throw new InjectedFault(`${stage} failed (injected)`);
    if (fault.mode === 'once' && (await firstTime(runId, stage)))
      throw new InjectedFault(`${stage} failed once (injected)`);
  }
}

/** Between staging and publishing: the process dies when asked (`crash`, or `crash-once`). */
export async function maybeCrash(runId: string, stage: Stage, faults: Fault[] | undefined): Promise<void> {
  if (!enabled()) return;
  for (const fault of faults ?? []) {
    if (fault.stage !== stage) continue;
    if (fault.mode === 'crash' || (fault.mode === 'crash-once' && (await firstTime(runId, stage)))) {
      process.exit(1);
    }
  }
}
