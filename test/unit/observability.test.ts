import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { metricsLogger } from '../../shared/observability.ts';

const fakeLog = () => ({ debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() });

describe('metricsLogger', () => {
  it("turns Powertools Metrics' warning about an invocation without metrics into a debug line", () => {
    const log = fakeLog();
    // The real utility, so a change of its wording fails here rather than flooding the logs again.
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test', logger: metricsLogger(log) });
    metrics.publishStoredMetrics();
    expect(log.warn).not.toHaveBeenCalled();
    expect(log.debug).toHaveBeenCalledWith(expect.stringMatching(/^No application metrics to publish/));
  });

  it('keeps every other message at its level', () => {
    const log = fakeLog();
    const logger = metricsLogger(log);
    logger.warn('Namespace should be defined, default used', 'x');
    logger.error('boom');
    expect(log.warn).toHaveBeenCalledWith('Namespace should be defined, default used', { detail: 'x' });
    expect(log.error).toHaveBeenCalledWith('boom');
    expect(log.debug).not.toHaveBeenCalled();
  });
});
