import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS, type ExperimentResult, formatTable, runChaos } from '../../local/chaos/index.ts';
import { QUICK_OPTIONS } from '../../local/chaos/quick.ts';

/**
 * The chaos harness against a local cloud of its own (`npm run chaos -- all --quick`): every
 * experiment's invariants must hold. The full run (`npm run chaos -- all`) uses faults longer than
 * API Gateway's 29 s and 10,000 fuzz requests; this one keeps the suite to a few minutes.
 */
let results: ExperimentResult[] = [];

beforeAll(async () => {
  results = await runChaos({
    root: path.resolve(import.meta.dirname, '../..'),
    experiments: EXPERIMENTS.map((e) => e.name),
    options: QUICK_OPTIONS,
    log: (line) => console.log(line),
  });
  console.log(formatTable(results));
});

describe('chaos experiments', () => {
  for (const experiment of EXPERIMENTS) {
    it(`${experiment.name}: every invariant holds`, () => {
      const result = results.find((r) => r.name === experiment.name);
      expect(result, 'the experiment ran').toBeDefined();
      expect(result?.error).toBeUndefined();
      const broken = Object.entries(result?.verdicts ?? {}).filter(([, v]) => v.held === false);
      expect(broken.map(([name, v]) => `${name}: ${v.detail}`)).toEqual([]);
      // At least one invariant applied: an experiment that checks nothing proves nothing.
      expect(Object.values(result?.verdicts ?? {}).some((v) => v.held === true)).toBe(true);
    });
  }
});
