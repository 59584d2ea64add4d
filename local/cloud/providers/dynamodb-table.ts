import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { DeployEnvironment } from '../deploy.ts';
import type { Json, Props, Provider } from './types.ts';

/** `AWS::DynamoDB::Table` and `AWS::DynamoDB::GlobalTable` (one replica locally): a DynamoDB Local table. */
export const dynamodbTable: Provider = async ({ props, env, name, arn }) => {
  const tableName = (props.TableName as string | undefined) ?? name(255);
  const streamArn = await ensureTable(env, tableName, props);
  return { ref: tableName, attributes: { Arn: arn('dynamodb', `table/${tableName}`), StreamArn: streamArn } };
};

/**
 * Creates the table if it is missing, or re-creates it (local data only) when its keys or indexes
 * changed; sets TTL. Returns the stream ARN when streams are on.
 */
async function ensureTable(
  env: DeployEnvironment,
  tableName: string,
  props: Props,
): Promise<string | undefined> {
  const keySchema = props.KeySchema;
  const gsis = (props.GlobalSecondaryIndexes as Json[] | undefined)?.map((g) => ({
    IndexName: g.IndexName,
    KeySchema: g.KeySchema,
    Projection: g.Projection ?? { ProjectionType: 'ALL' },
  }));
  const lsis = (props.LocalSecondaryIndexes as Json[] | undefined)?.map((l) => ({
    IndexName: l.IndexName,
    KeySchema: l.KeySchema,
    Projection: l.Projection ?? { ProjectionType: 'ALL' },
  }));
  const stream = props.StreamSpecification?.StreamViewType as string | undefined;
  const wanted = JSON.stringify({ keySchema, gsis: gsis?.map((g) => [g.IndexName, g.KeySchema]) ?? [] });
  let existing: DescribeTableCommandOutput | undefined;
  try {
    existing = await env.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const table = existing?.Table;
  if (table) {
    const have = JSON.stringify({
      keySchema: table.KeySchema,
      gsis: (table.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, g.KeySchema]),
    });
    if (have === wanted) return table.LatestStreamArn;
    env.warn(`table ${tableName}: keys or indexes changed, re-creating it (local data in it is dropped)`);
    await env.dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
  }
  const input: CreateTableCommandInput = {
    TableName: tableName,
    KeySchema: keySchema,
    AttributeDefinitions: props.AttributeDefinitions,
    BillingMode: 'PAY_PER_REQUEST',
    ...(gsis?.length ? { GlobalSecondaryIndexes: gsis } : {}),
    ...(lsis?.length ? { LocalSecondaryIndexes: lsis } : {}),
    ...(stream
      ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream as 'NEW_AND_OLD_IMAGES' } }
      : {}),
  };
  const created = await env.dynamodb.send(new CreateTableCommand(input));
  const ttl = props.TimeToLiveSpecification;
  if (ttl?.Enabled) {
    await env.dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
      }),
    );
  }
  return created.TableDescription?.LatestStreamArn;
}
