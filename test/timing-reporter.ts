import { globSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Reporter, TestModule, TestSpecification } from 'vitest/node';

/**
 * Records every vitest run's wall time and outcome in `.local/last-test-run.json` (`full`: every
 * test file of every project ran), for the `test-suite` row of `npm run bench`. Reports nothing.
 */
export default class TimingReporter implements Reporter {
  private files = 0;
  private readonly startedAt = new Date(performance.timeOrigin).toISOString();

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.files = specifications.length;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const root = path.resolve(import.meta.dirname, '..');
    const all = globSync('test/{unit,infra,integration}/**/*.test.ts', { cwd: root }).length;
    let passed = 0;
    let failed = 0;
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
      }
    }
    mkdirSync(path.join(root, '.local'), { recursive: true });
    writeFileSync(
      path.join(root, '.local', 'last-test-run.json'),
      `${JSON.stringify(
        {
          startedAt: this.startedAt,
          wallMs: Math.round(performance.now()),
          projects: [...new Set(modules.map((m) => m.project.name))].sort(),
          passed,
          failed,
          full: this.files === all,
        },
        null,
        2,
      )}\n`,
    );
  }
}
