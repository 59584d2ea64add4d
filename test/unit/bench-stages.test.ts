import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loggedStages, TreeCpuMeter, treeCpuByKind } from '../../bench/lib/cloud.ts';

/* What the checkout and gateway bench rows read to say where the time goes. */
describe('loggedStages', () => {
  const request = (method: string, latencyMs: number) => ({
    source: 'apigateway',
    message: 'request',
    method,
    path: `/v1/things/${method}`,
    latencyMs,
  });
  const report = (functionName: string, durationMs: number) => ({
    type: 'platform.report',
    record: { functionName, metrics: { durationMs } },
  });

  it('takes the p50 of the chosen gateway requests and of one function’s durations', () => {
    const logs = [
      request('POST', 10),
      request('GET', 1),
      request('POST', 30),
      request('POST', 20),
      report('Shop-dev-Services-OrdersApi48294D44', 8),
      report('Shop-dev-Services-CatalogApi2F31A828', 99),
      report('Shop-dev-Services-OrdersApi48294D44', 6),
      report('Shop-dev-Services-OrdersApi48294D44', 7),
      { level: 'INFO', message: 'something else' },
    ];
    expect(loggedStages(logs, (l) => l.method === 'POST', /OrdersApi/)).toEqual({
      gatewayMs: 20,
      functionMs: 7,
    });
  });

  it('leaves out what was not logged', () => {
    expect(loggedStages([request('GET', 3)], (l) => l.method === 'POST', /OrdersApi/)).toEqual({});
  });
});

describe('treeCpuByKind', () => {
  it('counts the CPU of this process and of its children, by kind', async () => {
    const before = treeCpuByKind(process.pid);
    // A child that burns 200 ms of CPU (however long that takes on a loaded machine), says so, and
    // waits: an 'other' process of the tree.
    const child = spawn(
      process.execPath,
      [
        '-e',
        'while (process.cpuUsage().user < 200_000); console.log("burnt"); setTimeout(() => {}, 60_000);',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((resolve) => child.stdout?.once('data', resolve));
      const after = treeCpuByKind(process.pid);
      expect(after['this process']).toBeGreaterThan(0);
      expect((after.other ?? 0) - (before.other ?? 0)).toBeGreaterThan(0.15); // in clock ticks of 10 ms
    } finally {
      child.kill();
    }
  });
});

describe('TreeCpuMeter', () => {
  it('counts a child that ended during the interval as what it was, not as its parent', async () => {
    const meter = new TreeCpuMeter(process.pid, 50);
    // A child (an 'other' process) that burns 200 ms of CPU, says so, and ends 300 ms later: the
    // meter's samples see it burnt before it ends (its parent would get it as `cutime`).
    const child = spawn(
      process.execPath,
      ['-e', 'while (process.cpuUsage().user < 200_000); console.log("burnt"); setTimeout(() => {}, 300);'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((resolve) => child.stdout?.once('data', resolve));
      await new Promise((resolve) => child.once('exit', resolve));
      const used = meter.read();
      expect(used.other ?? 0).toBeGreaterThan(0.15); // in clock ticks of 10 ms
      // The child's CPU is not also counted as this process's (its `cutime`, as treeCpuByKind
      // would): this process only waited and sampled.
      expect(used['this process'] ?? 0).toBeLessThan(used.other ?? 0);
    } finally {
      meter.stop();
      child.kill();
    }
  });
});
