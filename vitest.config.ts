import { defineConfig } from 'vitest/config';

/**
 * Four suites, run separately or together:
 * - unit: pure logic, no processes, no network.
 * - conformance: the local cloud's emulations checked against AWS's published behaviour (aws/event-ruler's
 *   tests, the EventBridge, API Gateway and CloudFormation user guides), each case naming its source.
 * - infra: CDK template assertions (synth in memory, no bundling).
 * - integration: against the embedded local cloud, started once per run by a global setup.
 * - chaos: the resilience harness (its own local cloud, faults under load, invariants); runs after
 *   the others so its timing is not disturbed by the integration suite's cloud.
 */
export default defineConfig({
  test: {
    // The default output, plus a record of the run's wall time for `npm run bench` (test-suite row).
    reporters: ['default', './test/timing-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Handlers under test log through Powertools: keep the output for failures only.
          env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_TRACE_ENABLED: 'false', POWERTOOLS_DEV: 'true' },
        },
      },
      {
        test: {
          name: 'conformance',
          include: ['test/conformance/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 2_400_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
