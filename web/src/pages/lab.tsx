import { useEffect, useState } from 'preact/hooks';
import { DEFAULTS, LIMITS, SCENARIOS, trialsLimit } from '../../../shared/lab/domain/limits.ts';
import { ApiError, query } from '../api.ts';
import { type Route, useApp, useLoad } from '../app.tsx';
import { Chart } from '../charts.tsx';
import { ms, shortId, when } from '../format.ts';
import { checkExperiment, LAB_FIELDS as FIELDS } from '../lab-request.ts';
import { chartsOf, type Report } from '../report-model.ts';
import { DataTable, ErrorBox, Loading, signedIn } from '../ui.tsx';

const HELP: Record<keyof typeof LIMITS, string> = {
  trials: 'write-read pairs, counters, sales or stock changes',
  concurrency: 'workers racing on one item or row',
  stock: 'units for sale (oversell)',
  thinkTimeMs: 'ms between a read and the write that depends on it (failover: between commits)',
  seconds: 'how long the regions are cut apart (partition)',
};

export const LabPage = signedIn('Consistency lab', Lab);

function setParams(params: Record<string, string>) {
  location.hash = `#/lab${query(params)}`;
}

function Lab({ route }: { route: Route }) {
  const { api } = useApp();
  const selected = (route.params.get('compare') ?? route.params.get('run') ?? '').split(',').filter(Boolean);
  const [refresh, setRefresh] = useState(0);
  const [scenarioFilter, setScenarioFilter] = useState('');
  const runs = useLoad(
    () =>
      api
        .get<{ items: Report[]; nextCursor: string | null }>(
          `/consistency/experiments${query({ limit: 20, scenario: scenarioFilter })}`,
        )
        .then((r) => r.body.items),
    [refresh, scenarioFilter],
  );
  const toggle = (id: string) => {
    const next = selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id].slice(-3);
    setParams(next.length > 1 ? { compare: next.join(',') } : next.length ? { run: next[0] ?? '' } : {});
  };
  return (
    <div class="lab">
      <Start
        onStarted={(id) => {
          setRefresh((n) => n + 1);
          setParams({ run: id });
        }}
      />
      <section aria-labelledby="runs-title" class="runs">
        <h2 id="runs-title">Past runs</h2>
        <label>
          Scenario{' '}
          <select
            value={scenarioFilter}
            onChange={(e) => setScenarioFilter((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">all</option>
            {SCENARIOS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>{' '}
        <button type="button" class="link" onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
        <ErrorBox error={runs.error} />
        {runs.data && runs.data.length === 0 && <p class="notice">No runs yet: start one.</p>}
        {runs.data && runs.data.length > 0 && (
          <DataTable
            label="Past runs"
            rows={runs.data}
            rowKey={(r) => r.experimentId}
            columns={[
              {
                title: 'Compare',
                cell: (r) => (
                  <input
                    type="checkbox"
                    checked={selected.includes(r.experimentId)}
                    onChange={() => toggle(r.experimentId)}
                    aria-label={`Show run ${shortId(r.experimentId)} (${r.scenario})`}
                  />
                ),
              },
              { title: 'Scenario', cell: (r) => <a href={`#/lab?run=${r.experimentId}`}>{r.scenario}</a> },
              { title: 'Status', cell: (r) => r.status },
              { title: 'Requested', cell: (r) => when(r.requestedAt) },
            ]}
          />
        )}
        <p class="muted">Tick up to three runs to see them side by side.</p>
      </section>
      <div class={selected.length > 1 ? 'compare' : 'single'} data-testid="reports">
        {selected.map((id) => (
          <RunView key={id} id={id} onDone={() => setRefresh((n) => n + 1)} />
        ))}
      </div>
    </div>
  );
}

type FormValues = Record<keyof typeof LIMITS, string>;

/** The start form, validated with the API's own schema before anything is sent. */
function Start({ onStarted }: { onStarted: (id: string) => void }) {
  const { api } = useApp();
  const [scenario, setScenario] = useState<string>(SCENARIOS[0]);
  const [values, setValues] = useState<FormValues>({
    trials: '',
    concurrency: '',
    stock: '',
    thinkTimeMs: '',
    seconds: '',
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const defaults = DEFAULTS[scenario as keyof typeof DEFAULTS];
  const range = (f: keyof typeof LIMITS) => (f === 'trials' ? trialsLimit(scenario) : LIMITS[f]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const body: Record<string, unknown> = { scenario };
    for (const f of FIELDS) if (values[f].trim() !== '') body[f] = Number(values[f]);
    const parsed = checkExperiment(body);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const r = await api.request<Report & { estimatedSeconds?: number }>(
        'POST',
        '/consistency/experiments',
        {
          body: parsed.body,
          timeoutMs: 35_000,
        },
      );
      onStarted(r.body.experimentId);
    } catch (err) {
      if (err instanceof ApiError && err.details.length)
        setErrors(Object.fromEntries(err.details.map((d) => [d.path.replace(/^body\./, ''), d.message])));
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="start" onSubmit={submit} aria-labelledby="start-title" noValidate>
      <h2 id="start-title">Run an experiment</h2>
      <label>
        Scenario
        <select
          name="scenario"
          value={scenario}
          onChange={(e) => setScenario((e.currentTarget as HTMLSelectElement).value)}
        >
          {SCENARIOS.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      {FIELDS.map((f) => (
        <label key={f}>
          {f}{' '}
          <span class="muted">
            ({range(f).min}–{range(f).max})
          </span>
          <input
            type="number"
            name={f}
            inputMode="numeric"
            min={range(f).min}
            max={range(f).max}
            placeholder={String(defaults?.[f] ?? '')}
            value={values[f]}
            aria-invalid={errors[f] ? true : undefined}
            aria-describedby={`${f}-help`}
            onInput={(e) => setValues({ ...values, [f]: (e.currentTarget as HTMLInputElement).value })}
          />
          <small id={`${f}-help`} class={errors[f] ? 'field-error' : 'muted'}>
            {errors[f] ? `body.${f}: ${errors[f]}` : `${HELP[f]}; default ${defaults?.[f]}`}
          </small>
        </label>
      ))}
      {errors.scenario && <p class="field-error">body.scenario: {errors.scenario}</p>}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Running…' : 'Run'}
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

/** One run: polled while queued or running, then its charts. */
function RunView({ id, onDone }: { id: string; onDone: () => void }) {
  const { api } = useApp();
  const [report, setReport] = useState<Report>();
  const [error, setError] = useState<unknown>();
  // A passing failure while polling (a failover run makes Postgres unavailable for a while: 503).
  const [hiccup, setHiccup] = useState<unknown>();
  const [since] = useState(Date.now());
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const r = await api.get<Report>(`/consistency/experiments/${encodeURIComponent(id)}`);
        if (!live) return;
        setReport(r.body);
        setHiccup(undefined);
        setNow(Date.now());
        if (r.body.status === 'queued' || r.body.status === 'running') timer = setTimeout(poll, 1000);
        else onDone();
      } catch (err) {
        if (!live) return;
        // Unavailable for now (network, 429, 5xx: e.g. the primary this very run killed): ask again.
        if (err instanceof ApiError && (err.status === 0 || err.status === 429 || err.status >= 500)) {
          setHiccup(err);
          setNow(Date.now());
          timer = setTimeout(poll, 2000);
        } else setError(err);
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id]);
  if (error) return <ErrorBox error={error} />;
  if (!report) return <Loading what="Loading the run" />;
  const pending = report.status === 'queued' || report.status === 'running';
  const charts = report.status === 'done' ? chartsOf(report) : [];
  const env = report.environment;
  return (
    <article
      class="report"
      data-testid="report"
      data-status={report.status}
      data-scenario={report.scenario}
      aria-labelledby={`r-${id}`}
    >
      <h2 id={`r-${id}`}>
        {report.scenario} <code class="muted">{shortId(report.experimentId)}</code>
      </h2>
      <p class="muted">
        {Object.entries(report.parameters ?? {})
          .filter(([k]) => k !== 'scenario')
          .map(([k, v]) => `${k} ${v}`)
          .join(' · ')}
        {report.startedAt &&
          report.finishedAt &&
          ` · ran ${ms(new Date(report.finishedAt).getTime() - new Date(report.startedAt).getTime())}`}
      </p>
      {pending && (
        <div role="status" aria-live="polite">
          <p>
            {report.status === 'queued' ? 'Queued for the runner function' : 'Running'} ·{' '}
            {Math.round((now - since) / 1000)} s
          </p>
          <progress aria-label="Waiting for the run" />
          {hiccup instanceof ApiError && (
            <p class="muted">
              The last poll answered {hiccup.status || 'no connection'} {hiccup.code} ({hiccup.message});
              asking again.
            </p>
          )}
        </div>
      )}
      {report.status === 'failed' && (
        <p class="error" role="alert">
          The run failed: {report.error}
        </p>
      )}
      {env && (
        <details>
          <summary>Environment</summary>
          {typeof env === 'string' ? (
            <p>{env}</p>
          ) : (
            <dl class="facts">
              {Object.entries(env).map(([k, v]) => (
                <>
                  <dt>{k}</dt>
                  <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
                </>
              ))}
            </dl>
          )}
        </details>
      )}
      {typeof report.summary === 'string' && <p>{report.summary}</p>}
      <div class="charts">
        {charts.map((spec) => (
          <Chart key={spec.key} spec={spec} />
        ))}
      </div>
    </article>
  );
}
