import type { ExperimentReport, ResultRow } from './report.ts';

/** Human-readable output of a report: an aligned table and one sentence that says what it means. */

const isNaive = (row: ResultRow) => row.strategy.startsWith('naive');
const storeName = (row: ResultRow) => (row.store === 'dynamodb' ? 'DynamoDB' : 'Postgres');
const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
/** The median of a few per-run figures. */
const percentileOf = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
};
const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;

/** Short column titles for t-visibility's read modes. */
const SHORT: Record<string, string> = {
  'GetItem (eventual)': 'eventual',
  'GetItem ConsistentRead': 'strong',
  'Query GSI byGroup': 'GSI',
  'replica read': 'replica',
  'primary read': 'primary',
  'read-your-writes': 'RYW',
};

/**
 * t-visibility as a table: one line per delay, the stale probability each read mode measured and,
 * next to it, the PBS prediction where one exists.
 */
function formatCurves(report: ExperimentReport): string {
  const p = report.parameters;
  const rows = (report.results ?? []).filter((row) => row.curve?.length);
  const predicted = (row: ResultRow) =>
    row.curve?.some((point) => point.predicted !== null && point.predicted > 0);
  // The delay each store counted, from the first mode of each (DynamoDB: the coordinator's ack →
  // the read's arrival; Postgres: the commit → the read, by the servers' clock).
  const delayRows = (['dynamodb', 'postgres'] as const)
    .map((store) => rows.find((row) => row.store === store))
    .filter((row) => row !== undefined);
  const header = ['t ms', ...delayRows.map((row) => `${row.store === 'dynamodb' ? 'ddb' : 'pg'} delay`)];
  for (const row of rows) {
    const name = `${row.store === 'dynamodb' ? 'ddb' : 'pg'} ${SHORT[row.strategy] ?? row.strategy}`;
    header.push(name);
    if (predicted(row)) header.push('PBS');
  }
  const delays = rows[0]?.curve?.map((point) => point.tMs) ?? [];
  const cells = delays.map((t, i) => {
    const line = [String(t), ...delayRows.map((row) => (row.curve?.[i]?.meanDelayMs ?? 0).toFixed(1))];
    for (const row of rows) {
      const point = row.curve?.find((pt) => pt.tMs === t);
      line.push(point ? point.staleRate.toFixed(3) : '-');
      if (predicted(row)) line.push(point?.predicted === null || !point ? '-' : point.predicted.toFixed(3));
    }
    return line;
  });
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  const settings = [
    `target ${report.environment?.target ?? '?'}`,
    `trials ${p.trials} per delay`,
    `concurrency ${p.concurrency}`,
    `replication ${report.environment?.replicationModel ?? 'unknown'}`,
  ];
  return [`scenario t-visibility  (${settings.join(', ')})`, line(header), ...cells.map(line)].join('\n');
}

/**
 * The report's results as an aligned text table: one header line naming the run, column titles,
 * one row per strategy. Text columns are left-aligned, numbers right-aligned.
 *
 * @example
 * console.log(formatTable(report));
 * // scenario lost-update  (target local, trials 1, concurrency 16, thinkTimeMs 5)
 * // store     strategy                 ops  anomalies   rate  retries  errors  p50 ms  …
 */
export function formatTable(report: ExperimentReport): string {
  const p = report.parameters;
  if (p.scenario === 't-visibility') return formatCurves(report);
  if (p.scenario === 'failover') return formatFailovers(report);
  if (p.scenario === 'partition') return formatPartition(report);
  const settings = [
    `target ${report.environment?.target ?? '?'}`,
    `trials ${p.trials}`,
    ...(p.scenario === 'projection-lag' ? [] : [`concurrency ${p.concurrency}`]),
    ...(p.scenario === 'oversell' ? [`stock ${p.stock}`] : []),
    ...(p.scenario === 'lost-update' || p.scenario === 'oversell' ? [`thinkTimeMs ${p.thinkTimeMs}`] : []),
  ];
  const rows = report.results ?? [];
  const withCapacity = rows.some((row) => row.capacityUnits);
  const header = [
    'store',
    'strategy',
    'ops',
    'anomalies',
    'rate',
    'retries',
    'errors',
    p.scenario === 'projection-lag' ? 'p50 lag ms' : 'p50 ms',
    'p95 ms',
    'p99 ms',
    ...(withCapacity ? ['RCU', 'WCU'] : []),
  ];
  const cells = rows.map((row) => [
    row.store,
    row.strategy,
    String(row.operations),
    row.anomalies === null ? '-' : String(row.anomalies),
    row.anomalyRate === null ? '-' : `${(row.anomalyRate * 100).toFixed(1)}%`,
    String(row.retries),
    String(row.errors),
    ms(row.latencyMs.p50),
    ms(row.latencyMs.p95),
    ms(row.latencyMs.p99),
    ...(withCapacity
      ? [
          row.capacityUnits ? row.capacityUnits.read.toFixed(1) : '-',
          row.capacityUnits ? row.capacityUnits.write.toFixed(1) : '-',
        ]
      : []),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => (i < 2 ? value.padEnd(widths[i] ?? 0) : value.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [`scenario ${p.scenario}  (${settings.join(', ')})`, line(header), ...cells.map(line)].join('\n');
}

/** Left-aligned first `left` columns, the rest right-aligned, under a header. */
function grid(title: string, header: string[], cells: string[][], left = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => (i < left ? value.padEnd(widths[i] ?? 0) : value.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [title, line(header), ...cells.map(line)].join('\n');
}

/** partition: per store and region, availability during the partition; lost updates; convergence. */
function formatPartition(report: ExperimentReport): string {
  const p = report.parameters;
  const cells = (report.results ?? []).flatMap((row) =>
    (row.availability ?? []).map((a) => [
      row.store,
      a.region,
      `${a.succeeded}/${a.requests}`,
      pct(a.availability),
      `${row.anomalies ?? 0}/${row.operations}`,
      `${row.divergentReads ?? 0}/${row.readPairs ?? 0}`,
      row.convergenceMs === null || row.convergenceMs === undefined ? 'never' : String(row.convergenceMs),
    ]),
  );
  return grid(
    `scenario partition  (target ${report.environment?.target ?? '?'}, partition ${p.seconds ?? '?'} s, clients per region ${p.concurrency}, thinkTimeMs ${p.thinkTimeMs})`,
    ['store', 'region', 'ok during', 'availability', 'lost updates', 'divergent reads', 'converged ms'],
    cells,
    2,
  );
}

/** failover: one line per failover, RPO and RTO side by side with the commit latency around it. */
function formatFailovers(report: ExperimentReport): string {
  const p = report.parameters;
  const header = ['mode', 'run', 'acked', 'lost (RPO)', 'RTO ms', 'p50 before ms', 'p50 after ms'];
  const cells = (report.results ?? []).flatMap((row) =>
    (row.failover ?? []).map((run) => [
      row.strategy,
      String(run.trial),
      String(run.acknowledged),
      String(run.lost),
      String(run.rtoMs),
      ms(run.latencyBeforeMs),
      ms(run.latencyAfterMs),
    ]),
  );
  return grid(
    `scenario failover  (target ${report.environment?.target ?? '?'}, failovers per mode ${p.trials}, writers ${p.concurrency}, thinkTimeMs ${p.thinkTimeMs})`,
    header,
    cells,
  );
}

/**
 * One sentence on what the numbers mean, from the numbers themselves (a safe strategy that showed
 * an anomaly is called out, not glossed over).
 *
 * @example
 * summarize(report);
 * // 'Naive strategies lost increments (DynamoDB 11 of 16, Postgres 15 of 16); the other 6 lost none, at the price of 41 retries and p95 up to 80 ms.'
 */
export function summarize(report: ExperimentReport): string {
  const rows = report.results ?? [];
  const naive = rows.filter(isNaive);
  const safe = rows.filter((row) => !isNaive(row));
  const unexpected = safe.filter((row) => (row.anomalies ?? 0) > 0);
  const errors = rows.reduce((sum, row) => sum + row.errors, 0);
  const errorNote = errors ? ` ${errors} operation(s) failed: see errors and firstError.` : '';
  const price = () => {
    const retries = safe.reduce((sum, row) => sum + row.retries, 0);
    const p95 = Math.max(0, ...safe.map((row) => row.latencyMs.p95));
    return `at the price of ${retries} retries and p95 up to ${ms(p95)} ms`;
  };
  const unexpectedNote = unexpected.length
    ? ` UNEXPECTED: ${unexpected.map((r) => `${storeName(r)} ${r.strategy} showed ${r.anomalies}`).join(', ')}.`
    : '';

  switch (report.scenario) {
    case 'lost-update':
    case 'oversell': {
      const lost = report.scenario === 'lost-update';
      const counts = naive
        .map(
          (row) =>
            `${storeName(row)} ${lost ? `${row.anomalies} of ${row.operations}` : `by ${row.anomalies}`}`,
        )
        .join(', ');
      const stock = report.parameters.stock * report.parameters.trials;
      const head = naive.every((row) => row.anomalies === 0)
        ? 'This time the naive strategies got lucky (no anomaly); raise concurrency or thinkTimeMs to see the race'
        : lost
          ? `Naive strategies lost increments (${counts})`
          : `Naive strategies oversold a stock of ${stock} (${counts})`;
      const others = safe.length - unexpected.length;
      const tail = lost
        ? `the other ${others} lost none, ${price()}`
        : `the other ${others} sold exactly the stock, ${price()}`;
      return `${head}; ${tail}.${unexpectedNote}${errorNote}`;
    }
    case 'read-after-write': {
      const stale = rows.filter((row) => (row.anomalies ?? 0) > 0);
      const eventualRead = rows.find((row) => row.strategy.startsWith('GetItem (eventual'));
      const strongRead = rows.find((row) => row.strategy.startsWith('GetItem Consistent'));
      const cost =
        eventualRead?.capacityUnits && strongRead?.capacityUnits
          ? ` Strong reads cost ${strongRead.capacityUnits.read.toFixed(1)} read units against ${eventualRead.capacityUnits.read.toFixed(1)} for eventual ones.`
          : '';
      const head = stale.length
        ? `Stale reads: ${stale.map((row) => `${storeName(row)} ${row.strategy} ${row.anomalies} of ${row.operations}`).join(', ')}.`
        : report.environment?.staleReadsPossible === false
          ? `No stale reads, because ${report.environment.dynamodb} cannot serve one (one copy of the data); on AWS eventual and GSI reads can be stale.`
          : 'No stale reads this time: every read saw the write before it.';
      return `${head}${cost}${errorNote}`;
    }
    case 't-visibility': {
      const curves = rows.filter((row) => row.curve?.length);
      const compared = curves.filter((row) => row.curve?.some((point) => point.predicted !== null));
      const gap = (row: ResultRow) =>
        Math.max(
          0,
          ...(row.curve ?? []).map((pt) =>
            pt.predicted === null ? 0 : Math.abs(pt.staleRate - pt.predicted),
          ),
        );
      const eventual = rows.find((row) => row.strategy.startsWith('GetItem (eventual'));
      const replica = rows.find((row) => row.strategy === 'replica read');
      const at0 = (row: ResultRow | undefined) => row?.curve?.[0]?.staleRate;
      const parts = [
        eventual && at0(eventual) !== undefined
          ? `DynamoDB eventual reads right after a write were stale ${pct(at0(eventual) as number)} of the time`
          : undefined,
        replica && at0(replica) !== undefined
          ? `the Postgres replica ${pct(at0(replica) as number)}`
          : undefined,
      ].filter(Boolean);
      const model = report.environment?.replicationModel ?? 'unknown';
      const pbs = compared.length
        ? ` Largest gap to the PBS prediction (lag model ${model}): ${compared.map((row) => `${storeName(row)} ${row.strategy} ${gap(row).toFixed(3)}`).join(', ')}.`
        : ' No lag model is stated here: the curves are measured only.';
      const never = rows.filter(
        (row) => (row.anomalies ?? 0) > 0 && row.curve?.every((point) => point.predicted === 0),
      );
      const neverNote = never.length
        ? ` UNEXPECTED: ${never.map((r) => `${storeName(r)} ${r.strategy} was stale ${r.anomalies} times`).join(', ')}.`
        : '';
      return `${parts.length ? `${parts.join(', ')}.` : 'No curve measured.'}${pbs}${neverNote}${errorNote}`;
    }
    case 'failover': {
      const parts = rows.map((row) => {
        const runs = row.failover ?? [];
        const rto = runs.map((r) => r.rtoMs);
        return `${row.strategy}: ${row.anomalies} of ${row.operations} acknowledged commits lost over ${runs.length} failover(s) (RPO per run ${runs.map((r) => r.lost).join('/')}), writes stopped for ${Math.min(...rto)}-${Math.max(...rto)} ms (RTO), commit p50 ${ms(percentileOf(runs.map((r) => r.latencyBeforeMs)))} ms before, ${ms(percentileOf(runs.map((r) => r.latencyAfterMs)))} ms after`;
      });
      const syncLost = rows.filter((row) => row.strategy === 'synchronous' && (row.anomalies ?? 0) > 0);
      const syncNote = syncLost.length
        ? ` UNEXPECTED: synchronous replication lost ${syncLost[0]?.anomalies} acknowledged commits.`
        : '';
      return `${parts.join('; ')}.${syncNote}${errorNote ? ' Writes fail while there is no primary: those errors are the RTO.' : ''}`;
    }
    case 'partition': {
      const parts = rows.map((row) => {
        const avail = (row.availability ?? []).map((a) => `${a.region} ${pct(a.availability)}`).join(', ');
        return `${storeName(row)} (${row.strategy}) answered ${avail} of requests during the partition and lost ${row.anomalies} of ${row.operations} acknowledged updates; ${row.divergentReads ?? 0} of ${row.readPairs ?? 0} simultaneous reads disagreed; ${row.convergenceMs === null || row.convergenceMs === undefined ? 'the regions did not converge' : `converged ${row.convergenceMs} ms after healing`}`;
      });
      return `${parts.join('. ')}.`;
    }
    case 'projection-lag': {
      const strong = rows.find((row) => row.strategy.includes('strong'));
      return strong
        ? `A stock change committed in Postgres showed in the DynamoDB catalog after ${ms(strong.latencyMs.p50)} ms (p50), ${ms(strong.latencyMs.p99)} ms (p99): outbox, EventBridge and the projection function, during which the catalog shows the old stock.${errorNote}`
        : `No lag measured.${errorNote}`;
    }
  }
}
