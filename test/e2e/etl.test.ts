import { describe, expect, it } from 'vitest';
import { eventually } from '../support/poll.ts';
import { api, context, expectStatus, poll, stockedProduct } from './context.ts';

/*
 * One ETL run through the API (Step Functions: extract → transform → aggregate) on a target that has
 * the ETL stack. LocalStack's target has none (Glue and Athena are not in its free tier).
 */

const today = () => new Date().toISOString().slice(0, 10);
const title = context.etl.enabled
  ? 'runs the ETL for today through the API and reports every stage'
  : `ETL run skipped: ${context.etl.reason ?? 'the target has no ETL stack'}`;

describe('ETL', () => {
  it.skipIf(!context.etl.enabled)(title, async () => {
    // At least one order today, so the extract has rows to read.
    const product = await stockedProduct(5, 500);
    await expectStatus(204, '/cart', { method: 'DELETE', as: 'alice' });
    await expectStatus(200, `/cart/items/${product.productId}`, {
      method: 'PUT',
      as: 'alice',
      body: { quantity: 1 },
    });
    await expectStatus(201, '/orders', {
      method: 'POST',
      as: 'alice',
      body: {},
      headers: { 'idempotency-key': crypto.randomUUID() },
    });

    expect((await api('/etl/runs', { method: 'POST', as: 'alice', body: {} })).status).toBe(403);
    const started = await expectStatus<{ runId: string }>(202, '/etl/runs', {
      method: 'POST',
      as: 'admin',
      body: { date: today() },
    });
    const run = await eventually(async () => {
      const got = await expectStatus<{ status: string; stages: Record<string, { rowsRead: number }> }>(
        200,
        `/etl/runs/${started.runId}`,
        { as: 'admin' },
      );
      expect(got.status).not.toBe('RUNNING');
      return got;
    }, poll);
    expect(run.status, JSON.stringify(run)).toBe('SUCCEEDED');
    expect(Object.keys(run.stages).sort()).toEqual(['aggregate', 'extract', 'transform']);
    expect(run.stages.extract?.rowsRead).toBeGreaterThanOrEqual(1);
    const list = await expectStatus<{ runs: { runId: string }[] }>(200, '/etl/runs', { as: 'admin' });
    expect(list.runs.map((r) => r.runId)).toContain(started.runId);
  });
});
