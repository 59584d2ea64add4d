import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import type { Percentiles, ResultRow } from '../domain/report.ts';

/**
 * The nearest-rank percentile of `values` (0 when there are none), rounded to 0.1.
 *
 * @example
 * percentile([5, 1, 3, 2, 4], 50); // 3
 */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return Math.round((sorted[rank - 1] as number) * 10) / 10;
}

/**
 * p50, p95 and p99 of a sample.
 *
 * @example
 * percentiles([1, 2, 3]); // { p50: 2, p95: 3, p99: 3 }
 */
export function percentiles(values: readonly number[]): Percentiles {
  return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99) };
}

/**
 * What one strategy's workers record while they run: latencies, retries, errors and capacity.
 * Workers share one instance (single-threaded JavaScript: no locking needed).
 *
 * @example
 * const m = new Measurements();
 * const value = await m.time(() => readCounter());
 * m.retries++;
 * const row = m.row({ store: 'dynamodb', strategy: 'UpdateItem ADD', operations: 16, anomalies: 0 });
 */
export class Measurements {
  readonly latencies: number[] = [];
  retries = 0;
  errors = 0;
  firstError: string | undefined;
  readCapacity = 0;
  writeCapacity = 0;
  private capacityReported = false;

  /** Runs `operation`, recording its duration. */
  async time<T>(operation: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await operation();
    } finally {
      this.latencies.push(performance.now() - started);
    }
  }

  /** Records a duration measured elsewhere (e.g. a lag). */
  record(ms: number): void {
    this.latencies.push(ms);
  }

  /** Counts an operation that failed for good. */
  fail(error: unknown): void {
    this.errors++;
    this.firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }

  /** Adds DynamoDB ConsumedCapacity (one entry, or the list a transaction returns). */
  capacity(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined, kind: 'read' | 'write'): void {
    for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
      this.capacityReported = true;
      // TOTAL always gives CapacityUnits; the read/write split is only there for some operations.
      const units = entry.CapacityUnits ?? 0;
      this.readCapacity += entry.ReadCapacityUnits ?? (kind === 'read' ? units : 0);
      this.writeCapacity += entry.WriteCapacityUnits ?? (kind === 'write' ? units : 0);
    }
  }

  /** The result row: percentiles of what was recorded, and the anomaly rate over `operations`. */
  row(fields: {
    store: ResultRow['store'];
    strategy: string;
    operations: number;
    anomalies: number | null;
  }): ResultRow {
    const { anomalies, operations } = fields;
    return {
      ...fields,
      anomalyRate:
        anomalies === null ? null : operations ? Math.round((anomalies / operations) * 10_000) / 10_000 : 0,
      retries: this.retries,
      errors: this.errors,
      latencyMs: percentiles(this.latencies),
      ...(this.capacityReported
        ? {
            capacityUnits: {
              read: Math.round(this.readCapacity * 10) / 10,
              write: Math.round(this.writeCapacity * 10) / 10,
            },
          }
        : {}),
      ...(this.firstError ? { firstError: this.firstError.slice(0, 300) } : {}),
    };
  }
}
