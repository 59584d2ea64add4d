import {
  BatchGetItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyName } from '../../local/replication/dynamodb.ts';
import { eventually, uniqueId } from './helpers.ts';

/*
 * The local cloud's replicas (local/replication/): DynamoDB through the replicating proxy, checked
 * against the copies it keeps in DynamoDB Local, and the Postgres streaming standby. With
 * SHOP_REPLICATION=off the same file checks that there are no replicas at all.
 */

const replication = inject('replication');
const replicated = replication.model !== 'off';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const client = (endpoint: string) =>
  DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: 'us-east-1', credentials }));

let proxy: DynamoDBDocumentClient;
let direct: DynamoDBDocumentClient;
let table: string;
const written: { pk: string; sk: string }[] = [];

beforeAll(async () => {
  proxy = client(inject('endpoints').dynamodb);
  direct = client(replication.dynamodbLocal);
  const names = (await proxy.send(new ListTablesCommand({}))).TableNames ?? [];
  table = names.find((name) => name.includes('ConsistencyLab')) as string;
});
afterAll(async () => {
  for (const key of written) await proxy.send(new DeleteCommand({ TableName: table, Key: key }));
  proxy.destroy();
  direct.destroy();
});

const labKey = () => {
  const key = { pk: `LAB#${uniqueId('replication-test')}`, sk: 'ITEM' };
  written.push(key);
  return key;
};

describe.runIf(!replicated)('replication off', () => {
  it('functions talk to DynamoDB Local itself and read Postgres from the primary', () => {
    expect(inject('endpoints').dynamodb).toBe(replication.dynamodbLocal);
    expect(inject('endpoints').databaseReaderUrl).toBe(inject('endpoints').databaseUrl);
    expect(replication.postgresStandbyUrl).toBeUndefined();
  });
});

describe.runIf(replicated)('replicated DynamoDB', () => {
  it('hides its copies from ListTables; DynamoDB Local holds them', async () => {
    const seen = (await proxy.send(new ListTablesCommand({}))).TableNames ?? [];
    const all = (await direct.send(new ListTablesCommand({}))).TableNames ?? [];
    expect(seen).toContain(table);
    expect(seen.some((name) => name.includes('.replica-'))).toBe(false);
    for (const role of ['follower', 'lagging', 'index'] as const)
      expect(all).toContain(copyName(table, role));
  });

  // 150 write-then-read trials: ~50 s on a machine at load 25, more under heavier load.
  it('eventual GetItem and GSI Query right after a write can be stale; ConsistentRead never is', {
    timeout: 300_000,
  }, async () => {
    let eventual = 0;
    let strong = 0;
    let index = 0;
    const trials = 150;
    for (let i = 0; i < trials; i++) {
      const key = labKey();
      await proxy.send(
        new PutCommand({ TableName: table, Item: { ...key, v: i, gsi1pk: key.pk, gsi1sk: 'ITEM' } }),
      );
      const [e, s, g] = await Promise.all([
        proxy.send(new GetCommand({ TableName: table, Key: key })),
        proxy.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })),
        proxy.send(
          new QueryCommand({
            TableName: table,
            IndexName: 'byGroup',
            KeyConditionExpression: 'gsi1pk = :pk',
            ExpressionAttributeValues: { ':pk': key.pk },
          }),
        ),
      ]);
      if (e.Item?.v !== i) eventual++;
      if (s.Item?.v !== i) strong++;
      if (g.Items?.[0]?.v !== i) index++;
    }
    expect(strong).toBe(0);
    // One read in three goes to the lagging follower: 1/3 × P(lag > t) with t ≈ 0.
    expect(eventual).toBeGreaterThan(0);
    expect(eventual).toBeLessThan(trials * 0.6);
    expect(index).toBeGreaterThan(0);
  });

  it('every copy converges on the leader, with the image the leader evaluated', async () => {
    const key = labKey();
    for (let i = 0; i < 3; i++) {
      await proxy.send(
        new UpdateCommand({
          TableName: table,
          Key: key,
          UpdateExpression: 'ADD n :one SET gsi1pk = :pk, gsi1sk = :sk',
          ExpressionAttributeValues: { ':one': 1, ':pk': key.pk, ':sk': 'ITEM' },
        }),
      );
    }
    for (const role of ['follower', 'lagging', 'index'] as const) {
      await eventually(async () => {
        const out = await direct.send(new GetCommand({ TableName: copyName(table, role), Key: key }));
        expect(out.Item?.n, role).toBe(3);
      });
    }
    await proxy.send(new DeleteCommand({ TableName: table, Key: key }));
    for (const role of ['follower', 'lagging', 'index'] as const) {
      await eventually(async () => {
        const out = await direct.send(new GetCommand({ TableName: copyName(table, role), Key: key }));
        expect(out.Item, role).toBeUndefined();
      });
    }
  });

  it('conditions are evaluated once, by the leader', async () => {
    const key = labKey();
    const put = (v: number) =>
      proxy.send(
        new PutCommand({
          TableName: table,
          Item: { ...key, v },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    await put(1);
    await expect(put(2)).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    await eventually(async () => {
      const out = await direct.send(new GetCommand({ TableName: copyName(table, 'lagging'), Key: key }));
      expect(out.Item?.v).toBe(1);
    });
  });

  it('a transaction replicates every key it wrote', async () => {
    const [a, b] = [labKey(), labKey()];
    await proxy.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { ...a, v: 'a' } } },
          { Put: { TableName: table, Item: { ...b, v: 'b' } } },
        ],
      }),
    );
    for (const key of [a, b]) {
      const follower = await direct.send(
        new GetCommand({ TableName: copyName(table, 'follower'), Key: key }),
      );
      expect(follower.Item?.v, 'the quorum follower has it when the write is acknowledged').toBeDefined();
      await eventually(async () => {
        const lagging = await direct.send(
          new GetCommand({ TableName: copyName(table, 'lagging'), Key: key }),
        );
        expect(lagging.Item?.v).toBe(follower.Item?.v);
      });
    }
  });

  it('answers BatchGetItem and ConsumedCapacity under the table name the client used', async () => {
    const key = labKey();
    await proxy.send(new PutCommand({ TableName: table, Item: { ...key, v: 1 } }));
    for (let i = 0; i < 10; i++) {
      const out = await proxy.send(
        new BatchGetItemCommand({
          RequestItems: { [table]: { Keys: [{ pk: { S: key.pk }, sk: { S: key.sk } }] } },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      expect(Object.keys(out.Responses ?? {})).toEqual([table]);
      expect(out.ConsumedCapacity?.[0]?.TableName).toBe(table);
      const get = await proxy.send(
        new GetCommand({ TableName: table, Key: key, ReturnConsumedCapacity: 'TOTAL' }),
      );
      expect(get.ConsumedCapacity).toMatchObject({ TableName: table, CapacityUnits: 0.5 });
    }
  });

  it('keeps streams on the leader and TTL on every copy', async () => {
    const names = (await proxy.send(new ListTablesCommand({}))).TableNames ?? [];
    const catalog = names.find((name) => name.includes('Catalog')) as string;
    const leader = await proxy.send(new DescribeTableCommand({ TableName: catalog }));
    expect(leader.Table?.LatestStreamArn).toBeDefined();
    const copy = await direct.send(new DescribeTableCommand({ TableName: copyName(catalog, 'lagging') }));
    expect(copy.Table?.LatestStreamArn).toBeUndefined();
    const ttl = await direct.send(new DescribeTimeToLiveCommand({ TableName: copyName(table, 'lagging') }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: 'expiresAt',
      TimeToLiveStatus: 'ENABLED',
    });
  });
});

describe.runIf(replicated)('Postgres read replica', () => {
  let primary: pg.Client;
  let standby: pg.Client;
  beforeAll(async () => {
    primary = new pg.Client({ connectionString: inject('endpoints').databaseUrl });
    standby = new pg.Client({ connectionString: inject('endpoints').databaseReaderUrl });
    await Promise.all([primary.connect(), standby.connect()]);
  });
  afterAll(async () => {
    await Promise.all([primary.end(), standby.end()]);
  });

  it('is a streaming standby whose lag Postgres itself reports', async () => {
    expect((await standby.query('select pg_is_in_recovery() as r')).rows[0].r).toBe(true);
    const senders = await primary.query(
      "select application_name, state from pg_stat_replication where application_name = 'local_standby'",
    );
    expect(senders.rows).toEqual([{ application_name: 'local_standby', state: 'streaming' }]);
    await expect(standby.query('create table nope (x int)')).rejects.toMatchObject({ code: '25006' });
  });

  it('applies a commit of the primary after the fact', async () => {
    const id = uniqueId('replica-test');
    await primary.query('insert into lab_counters (id, experiment_id, n) values ($1, $2, 1)', [
      id,
      '00000000-0000-4000-8000-000000000000',
    ]);
    const lsn = (await primary.query('select pg_current_wal_insert_lsn()::text as lsn')).rows[0]
      .lsn as string;
    await eventually(async () => {
      const replayed = await standby.query('select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn]);
      expect(replayed.rows[0].ok).toBe(true);
    });
    expect((await standby.query('select n from lab_counters where id = $1', [id])).rows).toEqual([
      { n: '1' },
    ]);
    await primary.query('delete from lab_counters where id = $1', [id]);
  });
});
