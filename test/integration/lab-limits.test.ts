import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ExperimentReport } from '../../shared/lab/domain/report.ts';
import { api, control, eventually, tokenFor, uniqueId } from './helpers.ts';

/*
 * Issue 9's lab defects, through the local cloud's API: signed-in users could start runs that
 * together exhaust Postgres' connections ("sorry, too many clients already"), and a run killed with
 * its function (timeout, crash) stayed `running` forever and left its lab rows behind.
 */

let db: pg.Client;

beforeAll(async () => {
  db = new pg.Client({ connectionString: inject('endpoints').databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db.end();
});

describe('the lab-wide connection cap', () => {
  it('a run that would take the lab past its Postgres connections is refused: 429 LAB_BUSY, stored as failed', async () => {
    // Runs in progress that hold 66 of the lab's 68 connections (LAB_MAX_CONNECTIONS, default 68):
    // one at concurrency 64, as an admin may start, with its function still running for a minute.
    const busy = randomUUID();
    await db.query(
      `insert into consistency_experiments
         (experiment_id, scenario, status, parameters, requested_by, started_at, deadline_at)
       values ($1, 'lost-update', 'running', $2, 'lab-limits-admin', now(), now() + interval '1 minute')`,
      [
        busy,
        JSON.stringify({ scenario: 'lost-update', trials: 1, concurrency: 64, stock: 10, thinkTimeMs: 5 }),
      ],
    );
    const user = uniqueId('lab-limits-user');
    try {
      // Concurrency 8 needs 10 connections: 66 + 10 > 68.
      const refused = await api<{ error: string; message: string }>('/consistency/experiments', {
        method: 'POST',
        token: await tokenFor(user),
        body: { scenario: 'lost-update', concurrency: 8 },
      });
      expect(refused.status, refused.text).toBe(429);
      expect(refused.body.error).toBe('LAB_BUSY');
      expect(refused.body.message).toMatch(/66 of its 68 Postgres connections; this run needs 10/);
      // The refused run ran nothing and says why.
      const { rows } = await db.query<{ status: string; error: string }>(
        'select status, error from consistency_experiments where requested_by = $1',
        [user],
      );
      expect(rows).toEqual([expect.objectContaining({ status: 'failed' })]);
      expect(rows[0]?.error).toMatch(/connections/);
    } finally {
      await db.query('delete from consistency_experiments where experiment_id = $1', [busy]);
    }
    // With the room back, the same request runs.
    const ran = await api<ExperimentReport>('/consistency/experiments', {
      method: 'POST',
      token: await tokenFor(user),
      body: { scenario: 'lost-update', concurrency: 8 },
    });
    expect(ran.status, ran.text).toBe(201);
  });
});

describe('a run killed with its function', () => {
  it('ends failed once its function would have been stopped, and its lab rows are deleted', {
    timeout: 150_000,
  }, async () => {
    const user = uniqueId('lab-killed');
    // lost-update with a long think time: about 15 s of work, run inline by the API function (29 s timeout).
    const request = api('/consistency/experiments', {
      method: 'POST',
      token: await tokenFor(user),
      body: { scenario: 'lost-update', concurrency: 16, thinkTimeMs: 300 },
    });
    // Wait until it runs and has written lab rows, then kill the function's workers mid-run.
    const running = await eventually(
      async () => {
        const { rows } = await db.query<{ experiment_id: string; deadline_at: Date; rows: number }>(
          `select e.experiment_id, e.deadline_at,
                  (select count(*)::int from lab_counters c where c.experiment_id = e.experiment_id) as rows
             from consistency_experiments e where e.requested_by = $1 and e.status = 'running'`,
          [user],
        );
        const row = rows[0];
        if (!row || row.rows === 0) throw new Error('not running with lab rows yet');
        return row;
      },
      { timeoutMs: 60_000 },
    );
    const functions = await control<{ name: string }[]>('/functions');
    const labApi = functions.find((f) => /ConsistencyLab.*Api/i.test(f.name));
    expect(labApi, functions.map((f) => f.name).join(', ')).toBeDefined();
    await control('/faults', {
      method: 'POST',
      body: JSON.stringify({ kind: 'kill-worker', function: labApi?.name, all: true }),
    });
    const answer = await request;
    // The worker died mid-invocation (502, Lambda's Runtime.ExitError), or, on a machine too busy for
    // the kill to land first, the function timed out (the gateway's 504; the runtime kills it at 29 s).
    expect([502, 504]).toContain(answer.status);
    // Killed: nothing of the run could mark itself failed or clean up.
    const after = await db.query<{ status: string }>(
      'select status from consistency_experiments where experiment_id = $1',
      [running.experiment_id],
    );
    expect(after.rows[0]?.status).toBe('running');

    // Once the function's deadline has passed, any read of the lab sweeps it.
    const swept = await eventually(
      async () => {
        const got = await api<ExperimentReport>(`/consistency/experiments/${running.experiment_id}`, {
          token: await tokenFor(user),
        });
        const { rows } = await db.query<{ status: string }>(
          'select status from consistency_experiments where experiment_id = $1',
          [running.experiment_id],
        );
        if (rows[0]?.status !== 'failed') throw new Error(`stored status ${rows[0]?.status}`);
        return got;
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    expect(swept.status).toBe(200);
    expect(swept.body).toMatchObject({ status: 'failed', error: expect.stringMatching(/timeout or crash/) });
    expect(Date.now()).toBeGreaterThan(running.deadline_at.getTime());
    const left = await db.query<{ n: number }>(
      `select (select count(*)::int from lab_counters where experiment_id = $1)
            + (select count(*)::int from lab_stock where experiment_id = $1) as n`,
      [running.experiment_id],
    );
    expect(left.rows[0]?.n).toBe(0);
  });
});
