import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type pg from 'pg';
import { ConfigError, optionalEnv } from '../../../config.ts';
import { awsClientConfig } from '../../../platform/adapters/aws-clients.ts';
import { FisExperiments, labFaultTemplate } from '../../../platform/adapters/fis.ts';
import { connectionConfig, ResilientPool, timeoutSettings } from '../../../platform/adapters/postgres.ts';
import { runWorkers } from '../../domain/concurrency.ts';
import type { RegionAvailability, ResultRow } from '../../domain/report.ts';
import type { RunContext } from '../context.ts';
import { percentiles } from '../measure.ts';

/**
 * partition (CAP): regions `eu` and `us`; in each, `concurrency` clients per store keep adding their
 * update's id to the same item (a product's price history, a cart edited from two devices), each
 * update atomic within its region. After 1 s the environment's `partition` experiment cuts the
 * regions apart for `seconds` (AWS FIS: `aws:dynamodb:global-table-pause-replication`), then heals.
 *
 * - **DynamoDB global table**: each region reads and writes its own replica (conditional on the
 *   version it read); replicas exchange whole items and keep the last writer's. During the partition
 *   both regions go on (available) and diverge; after healing, one region's history overwrites the
 *   other's: its acknowledged updates are **lost**.
 * - **Postgres, one primary in eu**: `us` clients reach it across the regions; cut off, they fail
 *   (unavailable), and nothing acknowledged is lost.
 *
 * Reported per store: availability per region during the partition, updates acknowledged and lost,
 * divergent reads (both regions read at once and disagree) during it, and the time from healing
 * until both regions read the same item.
 */
const REGIONS = ['eu', 'us'] as const;
type Region = (typeof REGIONS)[number];
const BEFORE_MS = 1_000;
const CONVERGE_MS = 10_000;

interface LabRegions {
  table: string;
  postgresHome: Region;
  regions: Record<Region, { dynamodb?: string; dynamodbRegion?: string; postgres?: string }>;
}

function labRegions(): LabRegions {
  const raw = optionalEnv('LAB_REGIONS');
  if (!raw)
    throw new ConfigError(
      'LAB_REGIONS is not set: the partition scenario needs two regions (the local cloud, or -c globalTableReplica=<region> on AWS)',
    );
  return JSON.parse(raw) as LabRegions;
}

interface Tally {
  requests: number;
  succeeded: number;
}

interface Store {
  update(region: Region, id: string): Promise<void>;
  read(region: Region): Promise<string[]>;
  close(): Promise<void>;
}

export async function partition(ctx: RunContext): Promise<ResultRow[]> {
  const config = labRegions();
  const key = `LAB#${ctx.experimentId}#partition`;
  const dynamo = dynamoStore(config, key);
  const postgres = await postgresStore(config, ctx.experimentId, key);
  const fis = new FisExperiments();
  try {
    return [
      await measure(ctx, fis, 'dynamodb', 'global table, last writer wins', dynamo),
      await measure(ctx, fis, 'postgres', `single primary in ${config.postgresHome}`, postgres),
    ];
  } finally {
    await dynamo.close();
    await postgres.close();
  }
}

async function measure(
  ctx: RunContext,
  fis: FisExperiments,
  store: ResultRow['store'],
  strategy: string,
  target: Store,
): Promise<ResultRow> {
  const { concurrency, thinkTimeMs } = ctx.parameters;
  const seconds = ctx.parameters.seconds ?? 5;
  const during: Record<Region, Tally> = {
    eu: { requests: 0, succeeded: 0 },
    us: { requests: 0, succeeded: 0 },
  };
  const acked: string[] = [];
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let divergentReads = 0;
  let readPairs = 0;
  type Phase = 'before' | 'partitioned' | 'healed' | 'stopped';
  let phase = 'before' as Phase;
  const current = (): Phase => phase;

  const clients = runWorkers(REGIONS.length * concurrency, async (w) => {
    const region = REGIONS[w % REGIONS.length] as Region;
    let n = 0;
    while (current() !== 'stopped' && !ctx.deadline.passed) {
      const id = `${region}-${w}-${n++}`;
      const inPartition = current() === 'partitioned';
      const began = performance.now();
      try {
        await target.update(region, id);
        latencies.push(performance.now() - began);
        acked.push(id);
        if (inPartition) during[region].succeeded++;
      } catch (error) {
        errors++;
        firstError ??= `${region}: ${(error as Error).message}`;
      }
      if (inPartition) during[region].requests++;
      await new Promise((r) => setTimeout(r, thinkTimeMs));
    }
  });
  // Both regions read the item at once, every 100 ms: during the partition they may disagree.
  const reads = (async () => {
    while (current() !== 'stopped' && !ctx.deadline.passed) {
      if (current() === 'partitioned') {
        const both = await Promise.all(REGIONS.map((r) => target.read(r))).catch(() => undefined);
        if (both) {
          readPairs++;
          if (both[0]?.join() !== both[1]?.join()) divergentReads++;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  let convergenceMs: number | null = null;
  try {
    await new Promise((r) => setTimeout(r, BEFORE_MS));
    const experiment = await fis.start(labFaultTemplate('partition'), `${ctx.experimentId}-${store}`);
    phase = 'partitioned';
    await new Promise((r) => setTimeout(r, seconds * 1000));
    phase = 'healed';
    await fis.stop(experiment.id);
    const healedAt = performance.now();
    await new Promise((r) => setTimeout(r, 500)); // the clients go on for a moment after healing
    phase = 'stopped';
    await Promise.all([clients, reads]);
    // Converged: both regions read the same item.
    const until = healedAt + CONVERGE_MS;
    while (performance.now() < until) {
      const [eu, us] = await Promise.all(REGIONS.map((r) => target.read(r))).catch(() => [[''], ['-']]);
      if (eu?.join() === us?.join()) {
        convergenceMs = Math.round(performance.now() - healedAt);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    phase = 'stopped';
    await Promise.allSettled([clients, reads]);
  }
  const final = new Set(await target.read('eu'));
  const lost = acked.filter((id) => !final.has(id)).length;
  const availability: RegionAvailability[] = REGIONS.map((region) => ({
    region,
    ...during[region],
    availability: during[region].requests
      ? Math.round((during[region].succeeded / during[region].requests) * 10_000) / 10_000
      : 0,
  }));
  return {
    store,
    strategy,
    operations: acked.length,
    anomalies: lost,
    anomalyRate: acked.length ? Math.round((lost / acked.length) * 10_000) / 10_000 : 0,
    retries: 0,
    errors,
    latencyMs: percentiles(latencies),
    availability,
    divergentReads,
    readPairs,
    convergenceMs,
    ...(firstError ? { firstError: firstError.slice(0, 300) } : {}),
  };
}

/** Each region's replica of the global table; an update is a conditional put on the version read. */
function dynamoStore(config: LabRegions, pk: string): Store {
  const clients = Object.fromEntries(
    REGIONS.map((region) => {
      const r = config.regions[region];
      const client = new DynamoDBClient(
        awsClientConfig({
          ...(r.dynamodb ? { endpoint: r.dynamodb } : {}),
          ...(r.dynamodbRegion ? { region: r.dynamodbRegion } : {}),
          maxAttempts: 1,
        }),
      );
      return [region, DynamoDBDocumentClient.from(client)];
    }),
  ) as Record<Region, DynamoDBDocumentClient>;
  const Key = { pk, sk: 'ITEM' };
  const get = async (region: Region) =>
    (await clients[region].send(new GetCommand({ TableName: config.table, Key, ConsistentRead: true })))
      .Item as { updates?: string[]; version?: number } | undefined;
  return {
    async update(region, id) {
      for (;;) {
        const item = await get(region);
        const version = item?.version ?? 0;
        try {
          await clients[region].send(
            new PutCommand({
              TableName: config.table,
              Item: {
                ...Key,
                updates: [...(item?.updates ?? []), id],
                version: version + 1,
                expiresAt: expiry(),
              },
              ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
              ExpressionAttributeValues: { ':v': version },
            }),
          );
          return;
        } catch (error) {
          // Another client of the region (or a replicated write) came first: read again.
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        }
      }
    },
    read: async (region) => (await get(region))?.updates ?? [],
    close: async () => {
      for (const region of REGIONS) {
        await clients[region].send(new DeleteCommand({ TableName: config.table, Key })).catch(() => {});
        clients[region].destroy();
      }
    },
  };
}

/** Expires with the lab's other items (TTL), should cleanup fail. */
const expiry = () => Math.floor(Date.now() / 1000) + 86_400;

/** The single primary, reached from each region (us: across the regions); the shop's own pool. */
async function postgresStore(config: LabRegions, experimentId: string, id: string): Promise<Store> {
  const pools = {} as Record<Region, pg.Pool>;
  for (const region of REGIONS) {
    const url = config.regions[region].postgres;
    const base = url ? { connectionString: url } : await connectionConfig();
    pools[region] = new ResilientPool({ ...base, max: 4, ...timeoutSettings() }, async () => base);
    pools[region].on('error', () => {});
  }
  await pools[config.postgresHome].query(
    'insert into lab_partition (id, experiment_id) values ($1, $2) on conflict (id) do nothing',
    [id, experimentId],
  );
  return {
    async update(region, update) {
      await pools[region].query(
        'update lab_partition set updates = array_append(updates, $2) where id = $1',
        [id, update],
      );
    },
    async read(region) {
      const out = (await pools[region].query('select updates from lab_partition where id = $1', [id])) as {
        rows: { updates: string[] }[];
      };
      return out.rows[0]?.updates ?? [];
    },
    close: async () => {
      for (const region of REGIONS) await pools[region].end().catch(() => {});
    },
  };
}
