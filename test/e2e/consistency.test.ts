import { describe, expect, it } from 'vitest';
import type { ExperimentReport } from '../../shared/lab/domain/report.ts';
import { eventually } from '../support/poll.ts';
import { api, expectStatus, poll } from './context.ts';

/*
 * A small consistency experiment run by the target's own functions against its own stores. The
 * safe strategies must lose nothing anywhere; whether the naive ones do depends on timing, so it is
 * reported, not asserted.
 */

describe('consistency lab', () => {
  it('runs a small lost-update experiment: the safe strategies lose no increment', async () => {
    const started = await api<ExperimentReport & { experimentId: string }>('/consistency/experiments', {
      method: 'POST',
      as: 'alice',
      body: { scenario: 'lost-update', trials: 1, concurrency: 4, thinkTimeMs: 5 },
    });
    expect([201, 202], started.text).toContain(started.status);
    const report =
      started.status === 201
        ? started.body
        : await eventually(async () => {
            const got = await expectStatus<ExperimentReport>(
              200,
              `/consistency/experiments/${started.body.experimentId}`,
              {
                as: 'alice',
              },
            );
            expect(['done', 'failed']).toContain(got.status);
            return got;
          }, poll);
    expect(report.status, JSON.stringify(report)).toBe('done');
    const rows = report.results ?? [];
    expect(new Set(rows.map((r) => r.store))).toEqual(new Set(['dynamodb', 'postgres']));
    for (const row of rows) {
      expect(row.operations, row.strategy).toBe(4);
      expect(row.errors, row.strategy).toBe(0);
      if (!row.strategy.startsWith('naive')) expect(row.anomalies, row.strategy).toBe(0);
    }
    const naive = rows.filter((r) => r.strategy.startsWith('naive'));
    console.log(
      `naive strategies lost ${naive.map((r) => `${r.store} ${r.anomalies}`).join(', ')} of 4 increments`,
    );

    const listed = await expectStatus<{ items: { experimentId: string }[] }>(
      200,
      '/consistency/experiments?scenario=lost-update&limit=20',
      { as: 'alice' },
    );
    expect(listed.items.map((i) => i.experimentId)).toContain(report.experimentId);
  });
});
