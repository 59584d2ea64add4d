import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/** Processes whose command line or working directory lies in `dir` (Linux /proc). */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cmdline.includes(dir) || cwd.startsWith(dir)) found.push(`${pid} ${cmdline.slice(0, 120)}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

describe('npm start (local/cli/start.ts)', () => {
  const stateDir = path.join(root, '.local', `test-cli-${process.pid}`);
  let child: ChildProcess | undefined;

  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('prints one ready line, serves the API, and leaves no process behind after SIGTERM', async () => {
    // Reuse the suite's synth (same sources, same context) so this start measures the rest.
    cpSync(path.join(inject('stateDir'), 'cdk.out'), path.join(stateDir, 'cdk.out'), { recursive: true });
    child = spawn(
      process.execPath,
      ['local/cli/start.ts', '--state-dir', stateDir, '--port', '0', '--quiet'],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const deadline = Date.now() + 60_000;
    while (!/^ready /m.test(output) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const ready = /^ready (http:\/\/127\.0\.0\.1:\d+\/v1) in (\d+\.\d)s/m.exec(output);
    expect(ready, output).not.toBeNull();
    expect(output.split('\n').filter((l) => l.startsWith('ready'))).toHaveLength(1);

    const health = await fetch(`${ready?.[1]}/health`);
    expect(health.status).toBe(200);
    expect(existsSync(path.join(stateDir, 'endpoints.json'))).toBe(true);
    expect(processesUnder(stateDir).length).toBeGreaterThanOrEqual(3); // java, postgres, s3rver, workers

    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/stopped\n/);
    // Postgres' background workers can take a moment to exit after pg_ctl returns.
    const stopDeadline = Date.now() + 5_000;
    while (processesUnder(stateDir).length > 0 && Date.now() < stopDeadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(processesUnder(stateDir)).toEqual([]);
    expect(existsSync(path.join(stateDir, 'endpoints.json'))).toBe(false);
  });
});
