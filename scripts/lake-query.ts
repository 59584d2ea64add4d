/**
 * `npm run lake:query -- "<SQL>"`: ad-hoc SQL over the local lake's curated and analytics zones,
 * with embedded DuckDB. Views: curated_orders, curated_order_items, curated_products (partition
 * column `dt` = extraction day; a key may repeat across days, latest `version` wins) and
 * analytics_daily_sales, analytics_top_products, analytics_cancellations (`dt` = order day).
 *
 * Reads the running local cloud's buckets (`npm start`). On AWS, run the same SQL in the Athena
 * workgroup `shop-<stage>-etl` (database `shop_<stage>_lake`).
 */
import { controlFetch, runningCloud } from '../local/cli/endpoints.ts';
import { s3ClientEnv } from '../local/emulators/s3.ts';
import { DuckDbEngine } from '../shared/etl/adapters/engines.ts';
import { CURATED_TABLES, REPORTS } from '../shared/etl/adapters/lake.ts';

const sql = process.argv.slice(2).join(' ').trim();
if (!sql) {
  console.error(
    'Usage: npm run lake:query -- "select * from analytics_daily_sales order by dt desc limit 20"',
  );
  process.exit(2);
}
// The running cloud's state directory: .local unless LOCAL_STATE_DIR says otherwise (npm start -- --state-dir).
const cloud = runningCloud(process.env.LOCAL_STATE_DIR);
const functions = (await (await controlFetch(cloud, '/functions')).json()) as {
  name: string;
  environment: Record<string, string>;
}[];
const env = functions.find((f) => f.name.includes('EtlTransform'))?.environment;
if (!env) throw new Error('The local cloud has no ETL functions deployed');
Object.assign(process.env, {
  LAKE_RAW_BUCKET: env.LAKE_RAW_BUCKET,
  LAKE_CURATED_BUCKET: env.LAKE_CURATED_BUCKET,
  LAKE_ANALYTICS_BUCKET: env.LAKE_ANALYTICS_BUCKET,
  // The local S3 (s3rver) as the local cloud's functions see it.
  ...s3ClientEnv(String(cloud.endpoints?.s3)),
});
const engine = await DuckDbEngine.overLake({
  zones: { curated: [...CURATED_TABLES], analytics: [...REPORTS] },
});
try {
  const rows = await engine.query(sql);
  console.table(
    rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
    ),
  );
} finally {
  await engine.close();
}
