/**
 * `npm run consistency -- --scenario <name> [--trials N] [--concurrency N] [--stock N] [--think-time-ms MS]
 *  [--repeat N] [--url URL --token TOKEN] [--json]`
 *
 * Runs a consistency experiment through the API (`POST /consistency/experiments`), waits for it when
 * the API queued it (202), and prints the results as a table plus one line on what they mean.
 * Without `--url` it calls the running local cloud (`npm start`) with a token signed by its key.
 * `--repeat N` (t-visibility) runs it N times, one after another, and pools the runs' trials: one
 * run must end within the runner's 15 minutes.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureSigningKey } from '../local/cloud/signing-key.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../shared/auth/jwt.ts';
import { formatTable, summarize } from '../shared/lab/domain/format.ts';
import { SCENARIOS } from '../shared/lab/domain/parameters.ts';
import { poolVisibilityRuns } from '../shared/lab/domain/pool-runs.ts';
import type { ExperimentReport } from '../shared/lab/domain/report.ts';

const USAGE = `Usage: npm run consistency -- --scenario <${SCENARIOS.join('|')}>
         [--trials N] [--concurrency N] [--stock N] [--think-time-ms MS] [--seconds S]
         [--repeat N (t-visibility: N runs, trials pooled)] [--url URL --token TOKEN] [--state-dir DIR] [--json]`;

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    trials: { type: 'string' },
    concurrency: { type: 'string' },
    stock: { type: 'string' },
    'think-time-ms': { type: 'string' },
    seconds: { type: 'string' },
    repeat: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    'state-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.scenario) fail(`--scenario is required\n${USAGE}`);
if (values.url && !values.token) fail('--url needs --token (a bearer token the API accepts)');

const number = (name: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) fail(`--${name} must be an integer, got "${value}"`);
  return n;
};
const repeat = number('repeat', values.repeat) ?? 1;
if (repeat < 1) fail('--repeat must be at least 1');
if (repeat > 1 && values.scenario !== 't-visibility') fail('--repeat pools t-visibility runs only');
const body = {
  scenario: values.scenario,
  trials: number('trials', values.trials),
  concurrency: number('concurrency', values.concurrency),
  stock: number('stock', values.stock),
  thinkTimeMs: number('think-time-ms', values['think-time-ms']),
  seconds: number('seconds', values.seconds),
};

async function localTarget(): Promise<{ url: string; token: string }> {
  // Imported here: only the local default needs the running cloud's files.
  const { runningCloud } = await import('../local/cli/endpoints.ts');
  const stateDir = values['state-dir'] ?? path.join(process.cwd(), '.local');
  const cloud = runningCloud(stateDir);
  const key = await ensureSigningKey(path.join(stateDir, 'keys'));
  const token = await signToken(
    key.privateJwk,
    { sub: 'consistency-cli', groups: [] },
    { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, expiresIn: '1h' },
  );
  return { url: cloud.apiUrl, token };
}

const { url, token } = values.url
  ? { url: values.url.replace(/\/$/, ''), token: values.token as string }
  : await localTarget().catch((error: Error) => fail(error.message));

async function call(method: string, route: string, payload?: unknown) {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed as Record<string, unknown> };
}

/** One run: started, waited for when queued (202), its report returned. */
async function runOnce(): Promise<ExperimentReport> {
  const started = await call('POST', '/consistency/experiments', body);
  let report: ExperimentReport;
  if (started.status === 201) {
    report = started.body as unknown as ExperimentReport;
  } else if (started.status === 202) {
    const { experimentId, estimatedSeconds } = started.body as {
      experimentId: string;
      estimatedSeconds: number;
    };
    process.stderr.write(`queued ${experimentId} (estimated ${estimatedSeconds} s); waiting`);
    const giveUpAt = Date.now() + 16 * 60_000; // the runner has 15 minutes
    for (;;) {
      if (Date.now() > giveUpAt) fail(`\n${experimentId} did not finish in 16 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const polled = await call('GET', `/consistency/experiments/${experimentId}`).catch(() => undefined);
      // A failover scenario takes the database away for a while: the API answers 503 meanwhile.
      if (!polled || polled.status === 503) {
        process.stderr.write('x');
        continue;
      }
      if (polled.status !== 200)
        fail(`\nGET ${experimentId}: HTTP ${polled.status} ${JSON.stringify(polled.body)}`);
      const current = polled.body as unknown as ExperimentReport;
      if (current.status === 'done' || current.status === 'failed') {
        process.stderr.write('\n');
        report = current;
        break;
      }
      process.stderr.write('.');
    }
  } else {
    fail(`POST /consistency/experiments: HTTP ${started.status} ${JSON.stringify(started.body, null, 2)}`);
  }
  return report;
}

const runs: ExperimentReport[] = [];
for (let i = 0; i < repeat; i++) {
  if (repeat > 1) process.stderr.write(`run ${i + 1} of ${repeat}: `);
  const run = await runOnce();
  if (run.status === 'failed') fail(`experiment ${run.experimentId} failed: ${run.error}`);
  runs.push(run);
}
const report = repeat > 1 ? poolVisibilityRuns(runs) : (runs[0] as ExperimentReport);

if (values.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(formatTable(report));
  console.log(summarize(report));
  if (
    report.environment &&
    !report.environment.staleReadsPossible &&
    report.scenario === 'read-after-write'
  ) {
    console.log(`(${report.environment.note})`);
  }
}
