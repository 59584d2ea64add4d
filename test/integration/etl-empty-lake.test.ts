import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { s3ClientEnv } from '../../local/emulators/s3.ts';
import { queryEngine } from '../../shared/etl/adapters/engines.ts';
import { listKeys } from '../../shared/etl/adapters/lake.ts';
import { aggregateDay } from '../../shared/etl/use-cases/aggregate.ts';
import { transformDay } from '../../shared/etl/use-cases/transform.ts';
import { s3 } from './etl-helpers.ts';
import { uniqueId } from './helpers.ts';

/**
 * The steps in this process against a lake of their own (fresh buckets in the suite's s3rver): the
 * shared lake of the local cloud is never empty once another test has run the pipeline.
 */
const saved = { ...process.env };

beforeAll(async () => {
  const suffix = uniqueId('empty').toLowerCase();
  const buckets = { raw: `raw-${suffix}`, curated: `curated-${suffix}`, analytics: `analytics-${suffix}` };
  for (const bucket of Object.values(buckets)) await s3().send(new CreateBucketCommand({ Bucket: bucket }));
  Object.assign(process.env, {
    LAKE_RAW_BUCKET: buckets.raw,
    LAKE_CURATED_BUCKET: buckets.curated,
    LAKE_ANALYTICS_BUCKET: buckets.analytics,
    ...s3ClientEnv(inject('endpoints').s3),
    QUERY_ENGINE: 'duckdb',
  });
});

afterAll(() => {
  process.env = saved;
});

describe('ETL on an empty lake (the first run)', () => {
  it('transforms nothing and aggregates to empty reports instead of failing on a missing table', async () => {
    const runId = uniqueId('first-run');
    const transformed = await transformDay({ runId, date: '2026-01-01' });
    expect(transformed.rowsRead).toBe(0);
    expect(transformed.objects).toEqual([]);

    const engine = await queryEngine();
    try {
      // Before the fix: "Catalog Error: Table with name curated_orders does not exist".
      const aggregated = await aggregateDay(engine, { runId, date: '2026-01-01' });
      expect(aggregated.dates).toEqual([]);
      expect(aggregated.rowsWritten).toBe(0);
      expect(await engine.query('select count(*) as n from curated_order_items')).toEqual([{ n: 0n }]);
    } finally {
      await engine.close();
    }
    expect(await listKeys('analytics', '')).toEqual([]);
    expect(await listKeys('curated', '')).toEqual([]);
  });
});
