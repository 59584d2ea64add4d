/**
 * `npm run etl -- [--date YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD] [--url API --token JWT]`
 *
 * Runs the lake ETL (the deployed state machine) for each day through `POST /etl/runs`, shows each
 * stage as it finishes and a summary: rows read, written, quarantined, duration, throughput.
 * Without `--url` it targets the running local cloud (`npm start`) with a locally signed admin token;
 * with `--url` (and `--token` or ETL_TOKEN: a Cognito ID token of an admin) a deployed stage.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runningCloud } from '../local/cli/endpoints.ts';
import { ensureSigningKey } from '../local/cloud/signing-key.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../shared/auth/jwt.ts';

const { values } = parseArgs({
  options: {
    date: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    'state-dir': { type: 'string' },
  },
});

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const from = values.from ?? values.date ?? yesterday;
const to = values.to ?? values.date ?? from;
if (!DAY.test(from) || !DAY.test(to) || from > to) {
  console.error(
    'Usage: npm run etl -- [--date YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD] [--url URL --token JWT]',
  );
  process.exit(2);
}
const days: string[] = [];
for (
  let d = new Date(`${from}T00:00:00Z`);
  d.toISOString().slice(0, 10) <= to;
  d = new Date(d.getTime() + 86_400_000)
)
  days.push(d.toISOString().slice(0, 10));

const stateDir = values['state-dir'] ?? path.join(process.cwd(), '.local');
const apiUrl = values.url ?? runningCloud(stateDir).apiUrl;
const token =
  values.token ??
  process.env.ETL_TOKEN ??
  (values.url
    ? undefined
    : await signToken(
        (await ensureSigningKey(path.join(stateDir, 'keys'))).privateJwk,
        { sub: 'etl-cli', groups: ['admin'] },
        { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, expiresIn: '1h' },
      ));
if (!token) {
  console.error('A deployed target needs --token (or ETL_TOKEN): an ID token of a user in the admin group.');
  process.exit(2);
}

interface Stage {
  rowsRead: number;
  rowsWritten: number;
  rowsQuarantined?: number;
  bytesRead?: number;
  durationMs: number;
}
interface Run {
  runId: string;
  status: string;
  stages: Partial<Record<'extract' | 'transform' | 'aggregate', Stage>>;
  error?: { error: string; cause: string };
}

async function call<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${apiUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const n = (x: number) => x.toLocaleString('en-US');
const rate = (rows: number, ms: number) => (ms > 0 ? `${n(Math.round((rows * 1000) / ms))} rows/s` : '-');
const tty = process.stdout.isTTY;

let failed = 0;
const totals = { read: 0, written: 0, quarantined: 0, ms: 0 };
for (const date of days) {
  const started = performance.now();
  const start = await call<{ runId: string; message?: string }>('POST', '/etl/runs', { date });
  if (start.status !== 202) {
    console.error(`${date}: could not start (${start.status}): ${JSON.stringify(start.body)}`);
    process.exit(1);
  }
  const { runId } = start.body;
  console.log(`${date}  run ${runId}`);
  const shown = new Set<string>();
  let run: Run | undefined;
  for (let spin = 0; ; spin++) {
    const got = await call<Run>('GET', `/etl/runs/${runId}`);
    if (got.status === 200) {
      run = got.body;
      for (const stage of ['extract', 'transform', 'aggregate'] as const) {
        const s = run.stages[stage];
        if (!s || shown.has(stage)) continue;
        shown.add(stage);
        if (tty) process.stdout.write('\r\x1b[K');
        console.log(
          `  ${stage.padEnd(9)} ✓ ${n(s.rowsRead).padStart(9)} read ${n(s.rowsWritten).padStart(9)} written` +
            `${s.rowsQuarantined ? ` ${n(s.rowsQuarantined)} quarantined` : ''}  ${(s.durationMs / 1000).toFixed(2)} s  ${rate(s.rowsRead || s.rowsWritten, s.durationMs)}`,
        );
      }
      if (run.status !== 'RUNNING') break;
    }
    if (tty) process.stdout.write(`\r  ${'⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[spin % 10]} running…`);
    await new Promise((r) => setTimeout(r, 250));
  }
  if (tty) process.stdout.write('\r\x1b[K');
  const ms = performance.now() - started;
  const stages = Object.values(run?.stages ?? {}) as Stage[];
  const read = stages.reduce((a, s) => a + s.rowsRead, 0);
  const written = stages.reduce((a, s) => a + s.rowsWritten, 0);
  const quarantined = stages.reduce((a, s) => a + (s.rowsQuarantined ?? 0), 0);
  totals.read += read;
  totals.written += written;
  totals.quarantined += quarantined;
  totals.ms += ms;
  if (run?.status === 'SUCCEEDED') {
    console.log(`  ${run.status} in ${(ms / 1000).toFixed(1)} s`);
  } else {
    failed++;
    console.log(`  ${run?.status}: ${run?.error?.error}: ${run?.error?.cause}`);
  }
}
console.log(
  `\n${days.length} day(s), ${failed} failed: ${n(totals.read)} rows read, ${n(totals.written)} written, ` +
    `${n(totals.quarantined)} quarantined in ${(totals.ms / 1000).toFixed(1)} s (${rate(totals.read, totals.ms)})`,
);
process.exit(failed ? 1 : 0);
