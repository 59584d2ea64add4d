import { describe, expect, it } from 'vitest';
import { checkHealth } from '../../shared/platform/health.ts';

describe('checkHealth', () => {
  it('is ok when every probe answers', async () => {
    const report = await checkHealth({ a: async () => 1, b: async () => 'x' });
    expect(report.status).toBe('ok');
    expect(Object.keys(report.checks)).toEqual(['a', 'b']);
    expect(report.checks.a).toMatchObject({ ok: true });
    expect(report.checks.a?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('is degraded and names the failing dependency and its error', async () => {
    const report = await checkHealth({
      dynamodb: async () => 1,
      postgres: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
    });
    expect(report.status).toBe('degraded');
    expect(report.checks.dynamodb?.ok).toBe(true);
    expect(report.checks.postgres).toMatchObject({
      ok: false,
      error: 'Error: connect ECONNREFUSED 127.0.0.1:5432',
    });
  });

  it('bounds a probe that never answers by the timeout', async () => {
    const started = Date.now();
    const report = await checkHealth({ s3: () => new Promise(() => {}) }, 50);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(report.checks.s3).toMatchObject({ ok: false, error: 'Error: no answer within 50 ms' });
  });
});
