import { useState } from 'preact/hooks';
import { useApp, useLoad } from '../app.tsx';
import { Chart } from '../charts.tsx';
import { ms, when } from '../format.ts';
import type { ChartSpec, Datum } from '../report-model.ts';
import { DataTable, ErrorBox, Loading, signedIn } from '../ui.tsx';

const STAGES = ['extract', 'transform', 'aggregate'] as const;

interface StageStats {
  rowsRead: number;
  rowsWritten: number;
  rowsQuarantined?: number;
  durationMs: number;
  [key: string]: unknown;
}
interface Run {
  runId: string;
  date: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startedAt: string;
  finishedAt?: string;
  stages: Partial<Record<(typeof STAGES)[number], StageStats>>;
  error?: { error: string; cause: string };
}

export const LakePage = signedIn('Lake', Lake, true);

// Run ids share a long prefix: a run is told apart by its day and the time it started.
const runLabel = (r: Run) => `${r.date} · ${new Date(r.startedAt).toLocaleTimeString()}`;
const runTag = (runId: string) => (runId.length > 12 ? `…${runId.slice(-8)}` : runId);

/** ETL runs (`GET /etl/runs`, admin): stages with timings and rows, failures, and a start button. */
function Lake() {
  const { api } = useApp();
  const [tick, setTick] = useState(0);
  const runs = useLoad(() => api.get<{ runs: Run[] }>('/etl/runs?limit=20').then((r) => r.body.runs), [tick]);
  const [date, setDate] = useState(new Date(Date.now() - 86_400_000).toISOString().slice(0, 10));
  const [error, setError] = useState<unknown>();
  const [started, setStarted] = useState<string>();
  const start = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await api.request<{ runId: string }>('POST', '/etl/runs', { body: { date } });
      setStarted(r.body.runId);
      // The run appears once its first step has started; follow it until it ends.
      for (let i = 0; i < 60; i++) {
        await new Promise((res) => setTimeout(res, 1000));
        setTick((t) => t + 1);
        const run = await api.get<Run>(`/etl/runs/${r.body.runId}`).then(
          (x) => x.body,
          () => undefined,
        );
        if (run && run.status !== 'RUNNING') break;
      }
      setTick((t) => t + 1);
    } catch (err) {
      setError(err);
    }
  };
  const list = runs.data ?? [];
  const chronological = [...list].reverse();
  const durations: ChartSpec = {
    key: 'stage-durations',
    title: 'Stage durations per run',
    kind: 'grouped',
    unit: 'ms',
    data: chronological.flatMap((r) =>
      STAGES.flatMap((s): Datum[] => {
        const st = r.stages[s];
        return st ? [{ label: runLabel(r), store: s, series: s, value: st.durationMs }] : [];
      }),
    ),
  };
  const rows: ChartSpec = {
    key: 'stage-rows',
    title: 'Rows per stage (latest runs)',
    kind: 'grouped',
    data: chronological.slice(-5).flatMap((r) =>
      STAGES.flatMap((s): Datum[] => {
        const st = r.stages[s];
        if (!st) return [];
        return [
          { label: `${runLabel(r)} ${s}`, store: s, series: 'read', value: st.rowsRead },
          { label: `${runLabel(r)} ${s}`, store: s, series: 'written', value: st.rowsWritten },
          ...(st.rowsQuarantined !== undefined
            ? [{ label: `${runLabel(r)} ${s}`, store: s, series: 'quarantined', value: st.rowsQuarantined }]
            : []),
        ];
      }),
    ),
  };
  // The API does not serve the analytics zone (daily_sales lives in Parquet, read by Athena or DuckDB);
  // what it does report is how many order lines each day's run carried into the curated zone.
  const perDay = new Map<string, number>();
  for (const r of chronological)
    if (r.status === 'SUCCEEDED' && r.stages.transform)
      perDay.set(r.date, (perDay.get(r.date) ?? 0) + r.stages.transform.rowsWritten);
  const daily: ChartSpec = {
    key: 'daily-orders',
    title: 'Order rows curated per day (all runs of the day)',
    kind: 'bar',
    data: [...perDay]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([date, value]) => ({ label: date, store: 'transform', series: 'rows', value })),
  };
  return (
    <>
      <form class="row" onSubmit={start} aria-label="Start an ETL run">
        <label>
          Day
          <input
            type="date"
            name="date"
            value={date}
            required
            onInput={(e) => setDate((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="primary">
          Start a run
        </button>
        {started && (
          <span role="status" class="muted">
            Started run{' '}
            <code data-testid="started-run" title={started}>
              {runTag(started)}
            </code>
          </span>
        )}
      </form>
      <ErrorBox error={error ?? runs.error} />
      {runs.loading && !runs.data && <Loading what="Loading ETL runs" />}
      {runs.data && list.length === 0 && (
        <p class="notice">No ETL runs yet. Start one above, or wait for the daily schedule.</p>
      )}
      {list.length > 0 && (
        <DataTable
          label="ETL runs"
          testId="etl-runs"
          rows={list}
          rowKey={(r) => r.runId}
          rowAttributes={(r) => ({ 'data-run': r.runId })}
          columns={[
            { title: 'Day', cell: (r) => r.date },
            { title: 'Run', cell: (r) => <code title={r.runId}>{runTag(r.runId)}</code> },
            {
              title: 'Status',
              cell: (r) => (
                <>
                  <span class={r.status === 'FAILED' ? 'warn' : r.status === 'SUCCEEDED' ? 'ok' : ''}>
                    {r.status}
                  </span>
                  {r.error && (
                    <div class="muted">
                      {r.error.error}: {r.error.cause.slice(0, 160)}
                    </div>
                  )}
                </>
              ),
            },
            { title: 'Started', cell: (r) => when(r.startedAt) },
            ...STAGES.map((s) => ({ title: s, cell: (r: Run) => <Stage stage={r.stages[s]} /> })),
          ]}
        />
      )}
      <div class="charts">
        {durations.data.length > 0 && <Chart spec={durations} />}
        {rows.data.length > 0 && <Chart spec={rows} />}
        {daily.data.length > 0 && <Chart spec={daily} />}
      </div>
      <p class="muted">
        <code>daily_sales</code> itself is in the lake's analytics zone (Parquet), which the API does not
        serve yet: query it with <code>npm run lake:query</code> (DuckDB) or Athena. The chart above counts
        what <code>/etl/runs</code> reports.
      </p>
    </>
  );
}

/** One stage of a run: its duration, and rows read → written (and quarantined). */
function Stage({ stage }: { stage: StageStats | undefined }) {
  if (!stage) return <>–</>;
  return (
    <>
      {ms(stage.durationMs)}
      <div class="muted">
        {stage.rowsRead} → {stage.rowsWritten}
        {stage.rowsQuarantined ? `, ${stage.rowsQuarantined} quarantined` : ''}
      </div>
    </>
  );
}
