/**
 * Benchmark of the embedded local cloud (numbers, not a test):
 *   - `npm start` → ready: cold (no state, no synth cache), fresh data with a cached synth, and warm;
 *   - warm `GET /health` through the gateway: p50/p95/p99 over N sequential requests.
 *
 * Usage: npm run bench:local [-- --requests 500]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '500' } } });
const requests = Number(values.requests);
const root = path.resolve(import.meta.dirname, '..');
const stateDir = path.join(root, '.local', `bench-${process.pid}`);

async function start(
  extra: string[],
): Promise<{ child: ChildProcess; url: string; ms: number; line: string }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['local/cli/start.ts', '--state-dir', stateDir, '--port', '0', '--quiet', ...extra],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DATABASE_URL: undefined } },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const ready = /^(ready (http:\/\/[\d.:]+\/\w+) .*)$/m.exec(output);
      if (ready)
        resolve({
          child,
          url: ready[2] as string,
          ms: performance.now() - started,
          line: ready[1] as string,
        });
    });
    child.on('exit', (code) => reject(new Error(`start exited with ${code}: ${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

try {
  const rows: [string, number, string][] = [];
  for (const [label, args] of [
    ['cold: no state, no synth cache', []],
    ['fresh data, cached synth (--fresh)', ['--fresh']],
    ['warm: existing state', []],
  ] as const) {
    const run = await start([...args]);
    rows.push([label, run.ms, run.line]);
    if (label.startsWith('warm')) {
      for (let i = 0; i < 20; i++) await (await fetch(`${run.url}/health`)).text(); // warm every worker up
      const latencies: number[] = [];
      for (let i = 0; i < requests; i++) {
        const t = performance.now();
        const response = await fetch(`${run.url}/health`);
        await response.text();
        if (response.status !== 200) throw new Error(`GET /health answered ${response.status}`);
        latencies.push(performance.now() - t);
      }
      latencies.sort((a, b) => a - b);
      console.log(
        `warm GET /health via gateway (${requests} sequential): p50 ${percentile(latencies, 50).toFixed(2)} ms, ` +
          `p95 ${percentile(latencies, 95).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`,
      );
    }
    await stop(run.child);
  }
  for (const [label, ms, line] of rows)
    console.log(`${label.padEnd(38)} ${(ms / 1000).toFixed(2)} s   [${line}]`);
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
