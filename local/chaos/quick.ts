import type { ChaosOptions } from './experiments.ts';

/** Short faults and fewer requests: what the test suite runs (`npm run chaos -- all --quick`). */
export const QUICK_OPTIONS: Partial<ChaosOptions> = {
  loadSeconds: 9,
  users: 4,
  freezeSeconds: 6,
  lockSeconds: 6,
  fuzzRequests: 1_500,
  doubleCheckouts: 12,
};
