import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, inject, it } from 'vitest';

/*
 * The end-to-end suite (test/e2e), run exactly as a user runs it against a deployment —
 * `npm run test:e2e -- --url <api> --token-cmd <cmd>` — against the local cloud of this test run.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');

interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: {
    name: string;
    startTime: number;
    endTime: number;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

describe('npm run test:e2e against the local cloud', () => {
  it('passes every end-to-end test, the ETL run included', { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shop-e2e-'));
    const outputFile = path.join(dir, 'report.json');
    const tokenCmd = `${JSON.stringify(process.execPath)} local/cli/token.ts --state-dir ${JSON.stringify(inject('stateDir'))}`;
    const args = ['scripts/e2e.ts', '--url', inject('apiUrl'), '--token-cmd', tokenCmd];
    const child = spawn(process.execPath, [...args, '--reporter', 'json', '--output-file', outputFile], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      expect(
        existsSync(outputFile),
        `no report from the e2e run (exit ${code}):\n${output.slice(-4000)}`,
      ).toBe(true);
      const report = JSON.parse(readFileSync(outputFile, 'utf8')) as JsonReport;
      const failures = report.testResults
        .flatMap((file) => file.assertionResults)
        .filter((test) => test.status === 'failed')
        .map((test) => `${test.fullName}: ${test.failureMessages.join('\n').slice(0, 2000)}`);
      expect(failures, output.slice(-4000)).toEqual([]);
      const files = report.testResults.map(
        (file) => `${path.basename(file.name)} ${((file.endTime - file.startTime) / 1000).toFixed(1)} s`,
      );
      console.log(
        `e2e against the local cloud: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped (${files.join(', ')})`,
      );
      // The local cloud has every stack: nothing may be skipped, the ETL test included.
      expect(report.numPendingTests).toBe(0);
      expect(report.numPassedTests).toBe(report.numTotalTests);
      expect(files).toHaveLength(4);
      expect(report.numPassedTests).toBeGreaterThanOrEqual(12);
      expect(code, output.slice(-4000)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
