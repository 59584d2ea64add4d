import { afterEach, describe, expect, it, vi } from 'vitest';
import { LabKeys, labClient } from '../../shared/lab/adapters/lab-table.ts';
import { deadlineIn, RUNNER_CLEANUP_RESERVE_MS } from '../../shared/lab/use-cases/experiment.ts';

/*
 * A long lab run writes more items than its cleanup reserve has time to delete (a 2,000-trial
 * t-visibility run writes 20,000); the runner was stopped at Lambda's 15 minutes mid-cleanup and
 * stored no report. Cleanup now stops in time to store it, and the items left expire by TTL.
 */

process.env.CONSISTENCY_LAB_TABLE ??= 'LabCleanupTest';

afterEach(() => {
  vi.restoreAllMocks();
});

/** `n` keys (25 per BatchWriteItem); `send` answers after `ms` and counts the items asked to delete. */
function setUp(ms: number, n = 100) {
  const keys = new LabKeys('cleanup');
  for (let i = 0; i < n; i++) keys.key('k', i);
  const deleted: unknown[] = [];
  vi.spyOn(labClient(), 'send').mockImplementation((async (command: {
    input: { RequestItems: Record<string, unknown[]> };
  }) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    deleted.push(...(Object.values(command.input.RequestItems)[0] ?? []));
    return {};
  }) as never);
  return { keys, deleted };
}

describe('LabKeys.deleteAll', () => {
  it('deletes every key when there is time', async () => {
    const { keys, deleted } = setUp(1);
    await keys.deleteAll();
    expect(deleted).toHaveLength(100);
  });

  it('starts no batch after its deadline and says how many items it left to TTL', async () => {
    const { keys, deleted } = setUp(1);
    await expect(keys.deleteAll(Date.now() - 1)).rejects.toThrow('100 items left (they expire by TTL)');
    expect(deleted).toHaveLength(0);
  });

  it('finishes the batches it started, and starts none after the deadline', async () => {
    const { keys, deleted } = setUp(60, 300);
    // 12 batches, 8 at a time: the first 8 start at once and answer after the deadline (30 ms).
    await expect(keys.deleteAll(Date.now() + 30)).rejects.toThrow('100 items left');
    expect(deleted).toHaveLength(200);
  });
});

describe('deadlineIn', () => {
  it('keeps the reserve for cleanup, and a fifth of it (≤ 10 s) for storing the report', () => {
    const before = Date.now();
    const deadline = deadlineIn(900_000, RUNNER_CLEANUP_RESERVE_MS);
    expect(deadline.at - before).toBeGreaterThanOrEqual(840_000);
    expect(deadline.at - before).toBeLessThan(840_000 + 1000);
    expect(deadline.cleanupBy - deadline.at).toBeGreaterThanOrEqual(49_000);
    expect(deadline.cleanupBy - deadline.at).toBeLessThanOrEqual(50_000);
    expect(deadlineIn(20_000).cleanupBy - deadlineIn(20_000).at).toBeGreaterThanOrEqual(3_999);
  });
});
