/**
 * `npm run cost -- --orders-per-day 10000 [--mix 20:4:1] [--stage dev|prod] [--json]`
 *
 * The monthly AWS cost of a load, from quantities MEASURED on the local cloud (scripts/cost/
 * measure.ts: Lambda GB-seconds from platform.report, DynamoDB units from ConsumedCapacity, API
 * Gateway requests, S3 requests and bytes) and the price table scripts/cost/prices.json. Prints a
 * table per service, the total and the cost per 1,000 orders for the stage asked and for prod, and
 * the consistency lab's price of strong reads.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { measure } from './cost/measure.ts';
import { type Estimate, estimate, type Load, PRICES, parseMix, strongReadPrice } from './cost/model.ts';

const { values } = parseArgs({
  options: {
    'orders-per-day': { type: 'string', default: '10000' },
    mix: { type: 'string', default: '20:4:1' },
    stage: { type: 'string', default: 'dev' },
    json: { type: 'boolean', default: false },
  },
});
const ordersPerDay = Number(values['orders-per-day']);
if (!Number.isFinite(ordersPerDay) || ordersPerDay <= 0) {
  console.error(`--orders-per-day must be a positive number, got "${values['orders-per-day']}"`);
  process.exit(2);
}
if (values.stage !== 'dev' && values.stage !== 'prod') {
  console.error(`--stage must be dev or prod, got "${values.stage}"`);
  process.exit(2);
}
let mix: Load['mix'];
try {
  mix = parseMix(values.mix);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const root = path.resolve(import.meta.dirname, '..');
const { run, lab } = await measure({ root, log: (m) => process.stderr.write(`[cost] ${m}\n`) });
const stages = values.stage === 'prod' ? (['prod'] as const) : (['dev', 'prod'] as const);
const estimates = stages.map((stage) => estimate(run, { ordersPerDay, mix, stage }));
const strong = strongReadPrice(lab);

if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ prices: { region: PRICES.region, asOf: PRICES.asOf }, run, estimates, strongReads: strong }, null, 2)}\n`,
  );
  process.exit(0);
}

const money = (d: number) =>
  d >= 100 ? `$${d.toFixed(0)}` : d >= 1 ? `$${d.toFixed(2)}` : `$${d.toFixed(4)}`;
const qty = (n: number) => (n >= 1000 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 3));
const print = (e: Estimate) => {
  console.log(
    `\nstage ${e.load.stage}: ${e.load.ordersPerDay.toLocaleString('en-US')} orders/day, per order ${e.load.mix.browse} product views and ${e.load.mix.cart} cart writes, one ETL run a day; ${e.daysPerMonth.toFixed(2)} days/month`,
  );
  const rows = e.lines.map((l) => [l.service, l.item, `${qty(l.quantity)} ${l.unit}`, money(l.dollars)]);
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length), 8));
  for (const r of rows)
    console.log(
      `  ${r[0]?.padEnd(w[0] ?? 0)}  ${r[1]?.padEnd(w[1] ?? 0)}  ${r[2]?.padStart(w[2] ?? 0)}  ${r[3]?.padStart(w[3] ?? 0)}`,
    );
  console.log(
    `  per service: ${Object.entries(e.byService)
      .map(([s, d]) => `${s} ${money(d)}`)
      .join(', ')}`,
  );
  console.log(`  total ${money(e.total)}/month, ${money(e.perThousandOrders)} per 1,000 orders`);
};

console.log(
  `Prices: ${PRICES.region}, as of ${PRICES.asOf} (scripts/cost/prices.json). Measured: ${run.source}.`,
);
console.log('Per operation (measured):');
for (const [op, q] of Object.entries({ ...run.perOperation, 'etl run': run.perEtlRun })) {
  console.log(
    `  ${op.padEnd(8)} API ${q.apiRequests.toFixed(2)}  Lambda ${q.lambdaInvocations.toFixed(2)} inv ${q.lambdaGbSeconds.toFixed(4)} GB-s  DynamoDB ${q.dynamoReadUnits.toFixed(2)} RRU ${q.dynamoWriteUnits.toFixed(2)} WRU  S3 ${q.s3WriteRequests.toFixed(2)} put ${q.s3ReadRequests.toFixed(2)} get ${Math.round(q.s3BytesWritten)} B`,
  );
}
for (const e of estimates) print(e);
console.log('\nConsistency lab (read-after-write), price of a million reads:');
for (const s of strong)
  console.log(
    `  ${s.strategy.padEnd(24)} ${s.unitsPerRead.toFixed(2)} RRU/read  ${money(s.dollarsPerMillionReads)} per million`,
  );
console.log(
  '\nNot included: the fixed costs at rest (VPC interface endpoints, dashboard, alarms, secret: see README), Step Functions transitions (a handful a day), data transfer out, free tiers. Lambda durations are the local runtime’s on this machine: AWS’s arm64 functions are usually faster.',
);
