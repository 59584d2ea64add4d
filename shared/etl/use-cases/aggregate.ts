import * as path from 'node:path';
import type { QueryEngine } from '../adapters/engines.ts';
import { partition, publish, putFile, stagingKey } from '../adapters/lake.ts';
import { ParquetFile } from '../adapters/parquet.ts';
import { createScratchDir, removeScratchDir, sweepStaleScratchDirs } from '../adapters/scratch.ts';
import type { StageStats } from '../adapters/state.ts';
import { AFFECTED_DATES, REPORT_SQL, type ReportName } from '../domain/sql.ts';

export const REPORT_FILE = 'part-00000.parquet';

/**
 * curated → analytics for the order days that the changes extracted on `date` touched: runs each
 * report's SQL on the engine and writes one Parquet file per report and day (staged, then published).
 */
export async function aggregateDay(
  engine: QueryEngine,
  options: { runId: string; date: string },
): Promise<StageStats & { dates: string[]; reports: Record<string, number> }> {
  const started = performance.now();
  const dates = (await engine.query(AFFECTED_DATES(options.date))).map((r) => String(r.dt));
  sweepStaleScratchDirs();
  const dir = createScratchDir('aggregate');
  const published: string[] = [];
  const reports: Record<string, number> = {};
  let rowsWritten = 0;
  try {
    if (dates.length) {
      for (const [name, spec] of Object.entries(REPORT_SQL) as [
        ReportName,
        (typeof REPORT_SQL)[ReportName],
      ][]) {
        const rows = await engine.query(spec.sql(dates));
        reports[name] = rows.length;
        for (const dt of dates) {
          const file = path.join(dir, `${name}-${dt}.parquet`);
          const parquet = new ParquetFile(file, spec.columns);
          for (const row of rows) if (String(row.dt) === dt) parquet.append(row);
          parquet.close();
          const key = `${partition(name, dt)}${REPORT_FILE}`;
          await putFile('analytics', stagingKey(options.runId, key), file, 'application/vnd.apache.parquet');
          published.push(key);
          rowsWritten += parquet.rows;
        }
      }
    }
    await publish('analytics', options.runId, published);
    return {
      rowsRead: 0,
      rowsWritten,
      durationMs: Math.round(performance.now() - started),
      objects: published,
      dates,
      reports,
      engine: engine.name,
    };
  } finally {
    removeScratchDir(dir);
  }
}
