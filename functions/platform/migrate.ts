import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { logger } from '../../shared/middleware/http-handler.ts';
import { migrateUp } from '../../shared/platform/adapters/migrate.ts';
import { connectionConfig } from '../../shared/platform/adapters/postgres.ts';

/** What a direct invocation returns (`aws lambda invoke`, `scripts/migrate-deployed.ts`). */
export interface MigrateResult {
  applied: string[];
}

/**
 * Applies the pending migrations. Two callers:
 * - CloudFormation, as custom resource `Custom::DatabaseMigrations`: on Create and Update it migrates,
 *   on Delete it leaves the data alone, and it answers CloudFormation itself by PUT to the pre-signed
 *   `ResponseURL`, so a failure shows in the stack events with its reason;
 * - anyone invoking it directly with any other event (`{}`), where custom resources cannot run
 *   (LocalStack Community): it returns `{applied}` and fails the invocation when a migration fails.
 */
export async function handler(
  event: CloudFormationCustomResourceEvent | Record<string, unknown>,
  context: Context,
): Promise<MigrateResult | undefined> {
  if (!isCustomResourceEvent(event)) {
    const applied = await migrateUp(await connectionConfig());
    logger.info('migrations done', { invokedDirectly: true, applied });
    return { applied };
  }
  const physicalResourceId =
    event.RequestType === 'Create' ? `migrations-${event.LogicalResourceId}` : event.PhysicalResourceId;
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = 'ok';
  let applied: string[] = [];
  try {
    if (event.RequestType !== 'Delete') applied = await migrateUp(await connectionConfig());
    logger.info('migrations done', { requestType: event.RequestType, applied });
  } catch (error) {
    status = 'FAILED';
    reason = `${(error as Error).message} (log stream ${context.logStreamName})`.slice(0, 1000);
    logger.error('migrations failed', { error: error as Error });
  }
  const body = JSON.stringify({
    Status: status,
    Reason: reason,
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: { Applied: applied.join(',') },
  });
  const response = await fetch(event.ResponseURL, { method: 'PUT', headers: { 'content-type': '' }, body });
  if (!response.ok) throw new Error(`CloudFormation response was refused: HTTP ${response.status}`);
  return undefined;
}

function isCustomResourceEvent(event: object): event is CloudFormationCustomResourceEvent {
  return 'RequestType' in event && 'ResponseURL' in event;
}
