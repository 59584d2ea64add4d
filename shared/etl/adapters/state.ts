import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from '../../config.ts';
import { dynamoDocumentClient } from '../../platform/adapters/aws-clients.ts';

/**
 * Pipeline state in the ETL stack's DynamoDB table (`ETL_STATE_TABLE`):
 * - `RUN#<runId>` / `RUN`: one run: status, date, per-stage counts, error; GSI `byStarted` lists runs newest first.
 * - `WATERMARK#<source>` / `WATERMARK`: the last change extracted from Postgres (updated_at with microseconds, order id).
 */
export type Stage = 'extract' | 'transform' | 'aggregate';
export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface StageStats {
  rowsRead: number;
  rowsWritten: number;
  rowsQuarantined?: number;
  bytesRead?: number;
  bytesWritten?: number;
  durationMs: number;
  objects?: string[];
  [key: string]: unknown;
}

export interface Run {
  runId: string;
  date: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  stages: Partial<Record<Stage, StageStats>>;
  error?: { error: string; cause: string };
}

export interface Watermark {
  /** Postgres timestamptz as text (keeps microseconds). */
  updatedAt: string;
  orderId: string;
}

export const EPOCH_WATERMARK: Watermark = {
  updatedAt: '1970-01-01T00:00:00+00:00',
  orderId: '00000000-0000-0000-0000-000000000000',
};

const table = () => requireEnv('ETL_STATE_TABLE');
const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'RUN' });

/** Creates the run record, or keeps the existing one (a retried first step must not reset it). */
export async function startRun(runId: string, date: string, now = new Date()): Promise<void> {
  await dynamoDocumentClient()
    .send(
      new PutCommand({
        TableName: table(),
        Item: {
          ...runKey(runId),
          gsi1pk: 'RUN',
          gsi1sk: `${now.toISOString()}#${runId}`,
          runId,
          date,
          status: 'RUNNING',
          startedAt: now.toISOString(),
          stages: {},
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    )
    .catch((error: Error) => {
      if (error.name !== 'ConditionalCheckFailedException') throw error;
    });
}

export async function recordStage(runId: string, stage: Stage, stats: StageStats): Promise<void> {
  await dynamoDocumentClient().send(
    new UpdateCommand({
      TableName: table(),
      Key: runKey(runId),
      UpdateExpression: 'SET stages.#stage = :stats',
      ExpressionAttributeNames: { '#stage': stage },
      ExpressionAttributeValues: { ':stats': stats },
    }),
  );
}

export async function finishRun(
  runId: string,
  status: Exclude<RunStatus, 'RUNNING'>,
  error?: Run['error'],
  now = new Date(),
): Promise<void> {
  await dynamoDocumentClient().send(
    new UpdateCommand({
      TableName: table(),
      Key: runKey(runId),
      UpdateExpression: error
        ? 'SET #status = :status, finishedAt = :now, #error = :error'
        : 'SET #status = :status, finishedAt = :now',
      ExpressionAttributeNames: { '#status': 'status', ...(error ? { '#error': 'error' } : {}) },
      ExpressionAttributeValues: {
        ':status': status,
        ':now': now.toISOString(),
        ...(error ? { ':error': error } : {}),
      },
    }),
  );
}

/**
 * One run's record, read strongly: whoever polls a run (the API, the CLI) must see the status its
 * last step wrote, not a replica's older copy (RUNNING after the run FAILED, seen with replication on).
 */
export async function getRun(runId: string): Promise<Run | undefined> {
  const out = await dynamoDocumentClient().send(
    new GetCommand({ TableName: table(), Key: runKey(runId), ConsistentRead: true }),
  );
  return out.Item ? toRun(out.Item) : undefined;
}

export async function listRuns(limit = 20): Promise<Run[]> {
  const out = await dynamoDocumentClient().send(
    new QueryCommand({
      TableName: table(),
      IndexName: 'byStarted',
      KeyConditionExpression: 'gsi1pk = :run',
      ExpressionAttributeValues: { ':run': 'RUN' },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return (out.Items ?? []).map(toRun);
}

function toRun(item: Record<string, unknown>): Run {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...run } = item;
  return run as unknown as Run;
}

export async function getWatermark(source: string): Promise<Watermark> {
  const out = await dynamoDocumentClient().send(
    new GetCommand({
      TableName: table(),
      Key: { pk: `WATERMARK#${source}`, sk: 'WATERMARK' },
      ConsistentRead: true,
    }),
  );
  return out.Item
    ? { updatedAt: String(out.Item.updatedAt), orderId: String(out.Item.orderId) }
    : EPOCH_WATERMARK;
}

/** Advances the watermark, only forward: a late, slower run cannot move it back. */
export async function setWatermark(source: string, watermark: Watermark, previous: Watermark): Promise<void> {
  await dynamoDocumentClient()
    .send(
      new PutCommand({
        TableName: table(),
        Item: { pk: `WATERMARK#${source}`, sk: 'WATERMARK', ...watermark },
        ConditionExpression: 'attribute_not_exists(pk) OR (updatedAt = :prev AND orderId = :prevId)',
        ExpressionAttributeValues: { ':prev': previous.updatedAt, ':prevId': previous.orderId },
      }),
    )
    .catch((error: Error) => {
      if (error.name === 'ConditionalCheckFailedException')
        throw new Error(`watermark of ${source} moved while this run extracted; re-run the day`);
      throw error;
    });
}
