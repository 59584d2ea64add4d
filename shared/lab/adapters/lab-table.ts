import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from '../../config.ts';
import { awsClientConfig, instrument } from '../../platform/adapters/aws-clients.ts';

/**
 * The lab's DynamoDB side: the `ConsistencyLab` table (`CONSISTENCY_LAB_TABLE`), key `pk`/`sk`,
 * GSI `byGroup` (`gsi1pk`/`gsi1sk`), TTL `expiresAt`. Every item of a run has a key beginning with
 * `LAB#<experimentId>#`, is recorded in a {@link LabKeys} and deleted when the run ends; the TTL is
 * the safety net for a run that dies before its cleanup.
 */
export const labTable = () => requireEnv('CONSISTENCY_LAB_TABLE');

/** Lab items expire a day after they were written, whatever happens to the run. */
export const labExpiry = (now = Date.now()) => Math.floor(now / 1000) + 24 * 3600;

let client: DynamoDBDocumentClient | undefined;

/**
 * A document client of its own with enough sockets for 64 concurrent workers (the SDK's default
 * agent allows 50), so concurrency is not silently capped by the HTTP pool.
 *
 * @example
 * await labClient().send(new GetCommand({ TableName: labTable(), Key: key }));
 */
export function labClient(): DynamoDBDocumentClient {
  client ??= DynamoDBDocumentClient.from(
    instrument(
      'dynamodb',
      new DynamoDBClient(
        awsClientConfig({
          requestHandler: { httpAgent: { maxSockets: 256 }, httpsAgent: { maxSockets: 256 } },
        }),
      ),
    ),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return client;
}

/** A lab item key. */
export interface LabKey {
  pk: string;
  sk: string;
}

/**
 * The keys one run has written, so cleanup deletes exactly those (no Scan, no eventually consistent
 * index to miss one).
 *
 * @example
 * const keys = new LabKeys(experimentId);
 * const key = keys.key('lost-update', 'add', 0); // { pk: 'LAB#<id>#lost-update#add#0', sk: 'ITEM' }
 * await keys.deleteAll();
 */
export class LabKeys {
  readonly experimentId: string;
  private readonly keys = new Map<string, LabKey>();

  constructor(experimentId: string) {
    this.experimentId = experimentId;
  }

  /** A new key under this run, recorded for cleanup. */
  key(...parts: (string | number)[]): LabKey {
    const key = { pk: ['LAB', this.experimentId, ...parts].join('#'), sk: 'ITEM' };
    this.keys.set(key.pk, key);
    return key;
  }

  get size(): number {
    return this.keys.size;
  }

  /**
   * Deletes every recorded key (25 per BatchWriteItem, 8 batches at a time, unprocessed ones
   * retried), starting no batch after `until` (epoch ms): what is left then expires by TTL, and the
   * returned promise rejects saying how many.
   */
  async deleteAll(until = Number.POSITIVE_INFINITY): Promise<void> {
    const all = [...this.keys.values()];
    const batches = Array.from({ length: Math.ceil(all.length / 25) }, (_, b) => b * 25);
    let next = 0;
    const worker = async () => {
      while (next < batches.length && Date.now() < until)
        await this.deleteBatch(all, batches[next++] as number);
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    this.keys.clear();
    const left = all.length - Math.min(all.length, next * 25);
    if (left > 0) throw new Error(`Lab cleanup ran out of time: ${left} items left (they expire by TTL)`);
  }

  private async deleteBatch(all: LabKey[], i: number): Promise<void> {
    let requests: { DeleteRequest: { Key: Record<string, unknown> } }[] | undefined = all
      .slice(i, i + 25)
      .map((key) => ({ DeleteRequest: { Key: { ...key } } }));
    for (let attempt = 0; requests?.length && attempt < 8; attempt++) {
      if (attempt) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      const out = await labClient().send(new BatchWriteCommand({ RequestItems: { [labTable()]: requests } }));
      requests = out.UnprocessedItems?.[labTable()] as typeof requests;
    }
    if (requests?.length) throw new Error(`Lab cleanup left ${requests.length} items (they expire by TTL)`);
  }
}

/** A failed ConditionExpression (by name too, in case two copies of the SDK meet). */
export const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/**
 * Why a TransactWriteItems was cancelled: `conflict` (another transaction or write had the item;
 * retry), `condition` (a ConditionExpression failed), or undefined for anything else.
 */
export function transactionCancellation(error: unknown): 'conflict' | 'condition' | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'TransactionConflictException') return 'conflict';
  if (error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as Error & { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return 'condition';
  if (reasons.some((r) => r.Code === 'TransactionConflict')) return 'conflict';
  // DynamoDB Local names the reasons only in the message.
  if (/ConditionalCheckFailed/.test(error.message)) return 'condition';
  if (/TransactionConflict/.test(error.message)) return 'conflict';
  return undefined;
}
