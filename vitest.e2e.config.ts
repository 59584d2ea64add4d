import { defineConfig } from 'vitest/config';

/**
 * The end-to-end suite (test/e2e), run by `npm run test:e2e` against a deployed target, which it
 * describes in `SHOP_E2E` (see scripts/e2e.ts). Not part of `vitest run`'s projects: `npm test` runs
 * it against the local cloud through test/integration/e2e.test.ts.
 */
export default defineConfig({
  test: {
    name: 'e2e',
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    // The files share test users (carts): one file at a time. Real clouds are slow: long deadlines.
    fileParallelism: false,
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
  },
});
