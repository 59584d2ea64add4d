import { globSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Reporter, TestModule, TestSpecification } from 'vitest/node';

/**
 * Records every vitest run's wall time and outcome in `.local/last-test-run.json` (`full`: every
 * test file of every project ran), and a full run also in `.local/last-full-test-run.json`, which a
 * later partial run (one file, one project, `test:replication-off`) leaves alone: the `test-suite`
 * row of `npm run bench` reads that one, with each file's time (import, setup and tests: where the
 * wall time goes). Reports nothing.
 */
export default class TimingReporter implements Reporter {
  private files = 0;
  private readonly startedAt = new Date(performance.timeOrigin).toISOString();

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.files = specifications.length;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const root = path.resolve(import.meta.dirname, '..');
    // Every project's files (vitest.config.ts: unit, conformance, infra, integration, chaos).
    const all = globSync('test/{unit,conformance,infra,integration,chaos}/**/*.test.ts', {
      cwd: root,
    }).length;
    let passed = 0;
    let failed = 0;
    const files = modules
      .map((module) => {
        const d = module.diagnostic();
        return {
          file: path.relative(root, module.moduleId),
          project: module.project.name,
          ms: Math.round(d.collectDuration + d.setupDuration + d.duration),
        };
      })
      .sort((a, b) => b.ms - a.ms);
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
      }
    }
    mkdirSync(path.join(root, '.local'), { recursive: true });
    const full = this.files === all;
    const record = `${JSON.stringify(
      {
        startedAt: this.startedAt,
        wallMs: Math.round(performance.now()),
        projects: [...new Set(modules.map((m) => m.project.name))].sort(),
        passed,
        failed,
        full,
        files,
      },
      null,
      2,
    )}\n`;
    writeFileSync(path.join(root, '.local', 'last-test-run.json'), record);
    if (full) writeFileSync(path.join(root, '.local', 'last-full-test-run.json'), record);
  }
}
