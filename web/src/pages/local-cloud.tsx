import { useState } from 'preact/hooks';
import { useApp, useLoad } from '../app.tsx';
import { DataTable, ErrorBox, Loading, Page } from '../ui.tsx';

type Row = Record<string, unknown>;

/** What the local cloud shows about itself (served only by it: the console's local server proxies it). */
export function LocalCloudPage() {
  const { config } = useApp();
  const base = config.local?.controlUrl ?? '/_local';
  const [tick, setTick] = useState(0);
  const [fn, setFn] = useState('');
  const functions = useLoad(() => fetchJson<Row[]>(`${base}/functions`), [tick]);
  return (
    <Page
      title="Local cloud"
      actions={
        <button type="button" onClick={() => setTick((t) => t + 1)}>
          Refresh
        </button>
      }
    >
      <Section title="Functions" state={functions}>
        {(rows) => (
          <Table
            label="Functions"
            rows={rows.map((f) => ({
              name: f.name,
              'cold starts': f.coldStarts,
              invocations: f.invocations,
              'warm invocations': Math.max(0, Number(f.invocations ?? 0) - Number(f.coldStarts ?? 0)),
              workers: f.workers,
              busy: f.busy,
              queued: f.queued,
              'memory MB': f.memoryMB,
              'timeout s': f.timeoutSeconds,
            }))}
          />
        )}
      </Section>
      <Endpoint base={base} path="routes" title="API routes" tick={tick} />
      <Endpoint base={base} path="rules" title="Event rules" tick={tick} />
      <Endpoint base={base} path="dead-letters" title="Dead letters" tick={tick} empty="No dead letters." />
      <Endpoint base={base} path="faults" title="Active faults" tick={tick} empty="No faults injected." />
      <section aria-labelledby="logs-title">
        <h2 id="logs-title">Recent logs</h2>
        <label>
          Function{' '}
          <select value={fn} onChange={(e) => setFn((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">all</option>
            {(functions.data ?? []).map((f) => (
              <option key={String(f.name)}>{String(f.name)}</option>
            ))}
          </select>
        </label>
        <Logs base={base} fn={fn} tick={tick} />
      </section>
    </Page>
  );
}

async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (response.status === 404) throw new Error('This local cloud does not offer this yet (404).');
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as T;
}

function Section<T>({
  title,
  state,
  children,
  empty = 'Nothing here.',
}: {
  title: string;
  state: { data?: T; error?: Error; loading: boolean };
  children: (data: T) => preact.ComponentChildren;
  empty?: string;
}) {
  const id = `s-${title.replace(/\W+/g, '-').toLowerCase()}`;
  const data = state.data;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {state.loading && !data && <Loading />}
      {state.error && <p class="muted">{state.error.message}</p>}
      {data !== undefined &&
        (Array.isArray(data) && data.length === 0 ? <p class="muted">{empty}</p> : children(data))}
    </section>
  );
}

function Endpoint({
  base,
  path,
  title,
  tick,
  empty,
}: {
  base: string;
  path: string;
  title: string;
  tick: number;
  empty?: string;
}) {
  const state = useLoad(() => fetchJson<unknown>(`${base}/${path}`), [tick]);
  return (
    <Section title={title} state={state} empty={empty}>
      {(data) => {
        const rows = Array.isArray(data)
          ? data
          : (Object.values((data ?? {}) as Row).find(Array.isArray) ?? [data]);
        return (
          <Table
            label={title}
            rows={(rows as unknown[]).map((r) => (r && typeof r === 'object' ? (r as Row) : { value: r }))}
          />
        );
      }}
    </Section>
  );
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '–';
  if (typeof value === 'string') return value;
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

function Table({ label, rows }: { label: string; rows: Row[] }) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].slice(0, 10);
  return (
    <DataTable
      label={label}
      rows={rows}
      rowKey={(_, i) => i}
      columns={columns.map((c) => ({ title: c, cell: (r: Row) => cell(r[c]) }))}
    />
  );
}

function Logs({ base, fn, tick }: { base: string; fn: string; tick: number }) {
  const state = useLoad(
    () => fetchJson<Row[]>(`${base}/logs?limit=100${fn ? `&function=${encodeURIComponent(fn)}` : ''}`),
    [fn, tick],
  );
  if (state.error) return <ErrorBox error={state.error} />;
  if (!state.data) return <Loading />;
  if (state.data.length === 0) return <p class="muted">No log lines yet.</p>;
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable
    <section aria-label="Log lines" class="logs" tabIndex={0}>
      <pre>
        {state.data
          .map((l) => {
            const { time, level, function: f, message, ...rest } = l;
            return `${String(time ?? '').slice(11, 23)} ${String(level ?? '').padEnd(5)} ${f ?? ''} ${message ?? ''} ${Object.keys(rest).length ? JSON.stringify(rest) : ''}`;
          })
          .join('\n')}
      </pre>
    </section>
  );
}
