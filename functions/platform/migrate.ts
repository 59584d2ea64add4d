import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { connectionConfig } from '../../shared/adapters/postgres.ts';
import { migrateUp } from '../../shared/db/migrate.ts';
import { logger } from '../../shared/middleware/http-handler.ts';

/**
 * CloudFormation custom resource `Custom::DatabaseMigrations`: on Create and Update it applies the
 * pending migrations; on Delete it leaves the data alone. It answers CloudFormation itself by PUT to
 * the pre-signed `ResponseURL`, so a failure shows in the stack events with its reason.
 */
export async function handler(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
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
}
