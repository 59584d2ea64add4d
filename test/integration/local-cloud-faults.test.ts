import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { readControlToken } from '../../local/cloud/control-token.ts';
import { api, control, createProduct, eventually, tokenFor, uniqueId } from './helpers.ts';

/**
 * The local cloud's own resilience (issue 9): the control API is guarded and hides passwords; the
 * embedded Postgres is durable; faults are injected, listed and healed through `/_local/faults`.
 */
interface FaultRecord {
  id: string;
  kind: string;
  status: string;
  healedBy?: string;
  detail: Record<string, unknown>;
}

const servicesUrl = () => inject('servicesUrl');

describe('the local control API', () => {
  it('refuses requests without the control token', async () => {
    for (const route of ['/functions', '/faults', '/rules', '/dead-letters']) {
      const response = await fetch(`${servicesUrl()}/_local${route}`);
      expect(response.status, route).toBe(401);
    }
    const invoke = await fetch(`${servicesUrl()}/_local/functions/anything/invoke`, {
      method: 'POST',
      body: '{}',
    });
    expect(invoke.status).toBe(401);
    const wrong = await fetch(`${servicesUrl()}/_local/functions`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    const userJwt = await tokenFor('not-an-admin');
    const user = await fetch(`${servicesUrl()}/_local/functions`, {
      headers: { authorization: `Bearer ${userJwt}` },
    });
    expect(user.status).toBe(401);
  });

  it('accepts an admin JWT of the local cloud too', async () => {
    const adminJwt = await tokenFor('ops', { admin: true });
    const response = await fetch(`${servicesUrl()}/_local/rules`, {
      headers: { authorization: `Bearer ${adminJwt}` },
    });
    expect(response.status).toBe(200);
  });

  it('never shows the database password', async () => {
    const functions = await control<{ environment: Record<string, string> }[]>('/functions');
    const text = JSON.stringify(functions);
    const password = new URL(inject('endpoints').databaseUrl).password;
    expect(password).not.toBe('');
    expect(text).not.toContain(`:${password}@`);
    const withUrl = functions.find((f) => f.environment.DATABASE_URL);
    expect(withUrl?.environment.DATABASE_URL).toMatch(/^postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\//);
  });
});

describe('the embedded Postgres', () => {
  it('is durable by default: fsync, synchronous_commit and full_page_writes on', async () => {
    const client = new pg.Client({ connectionString: inject('endpoints').databaseUrl });
    await client.connect();
    try {
      for (const setting of ['fsync', 'synchronous_commit', 'full_page_writes']) {
        const { rows } = await client.query(`show ${setting}`);
        expect(rows[0]?.[setting], setting).toBe('on');
      }
    } finally {
      await client.end();
    }
  });

  it('loses no committed transaction when it is SIGKILLed (kill-postgres) and restarted', async () => {
    const table = `durability_${uniqueId('t').replace(/-/g, '_')}`;
    const connect = async () => {
      const client = new pg.Client({ connectionString: inject('endpoints').databaseUrl });
      client.on('error', () => {});
      await client.connect();
      return client;
    };
    const writer = await connect();
    await writer.query(`create table ${table} (n int primary key)`);
    // 400 separate commits as fast as they go, then the crash right after the last one answered.
    for (let n = 1; n <= 400; n++) await writer.query(`insert into ${table} values ($1)`, [n]);
    const fault = await control<FaultRecord>('/faults', {
      method: 'POST',
      body: JSON.stringify({ kind: 'kill-postgres' }),
    });
    expect(fault).toMatchObject({ kind: 'kill-postgres', status: 'healed', healedBy: 'instant' });
    await writer.end().catch(() => {});
    const reader = await eventually(connect, { timeoutMs: 30_000, intervalMs: 200 });
    try {
      const { rows } = await reader.query(`select count(*)::int as n from ${table}`);
      expect(rows[0]?.n).toBe(400);
      await reader.query(`drop table ${table}`);
    } finally {
      await reader.end();
    }
    // The shop answers again through the restarted database.
    await eventually(async () => expect((await api('/health')).status).toBe(200), { timeoutMs: 30_000 });
  });
});

describe('fault control (/_local/faults)', () => {
  it('lists the fault kinds and refuses bad requests with a 400 naming the field', async () => {
    const listed = await control<{ kinds: { name: string }[] }>('/faults');
    expect(listed.kinds.map((k) => k.name)).toEqual(
      expect.arrayContaining([
        'kill-postgres',
        'freeze-postgres',
        'freeze-dynamodb',
        'kill-worker',
        'hold-lock',
      ]),
    );
    const post = (body: unknown) =>
      fetch(`${servicesUrl()}/_local/faults`, {
        method: 'POST',
        headers: { authorization: `Bearer ${readControlToken(inject('stateDir'))}` },
        body: JSON.stringify(body),
      });
    const unknown = await post({ kind: 'unplug-the-sun' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ field: 'kind' });
    const badSeconds = await post({ kind: 'freeze-dynamodb', seconds: 100_000 });
    expect(badSeconds.status).toBe(400);
    expect(await badSeconds.json()).toMatchObject({ field: 'seconds' });
  });

  it('freezes DynamoDB and heals it by itself after its duration', async () => {
    const fault = await control<FaultRecord>('/faults', {
      method: 'POST',
      body: JSON.stringify({ kind: 'freeze-dynamodb', seconds: 1 }),
    });
    expect(fault.status).toBe('active');
    await eventually(
      async () => {
        const { faults } = await control<{ faults: FaultRecord[] }>('/faults');
        expect(faults.find((f) => f.id === fault.id)).toMatchObject({
          status: 'healed',
          healedBy: 'duration',
        });
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    await eventually(async () => expect((await api('/health')).status).toBe(200), { timeoutMs: 30_000 });
  });

  it('holds a row lock until healed on request', async () => {
    const product = await createProduct();
    const admin = await tokenFor('lock-admin', { admin: true });
    expect(
      (await api(`/inventory/${product.productId}`, { method: 'PUT', token: admin, body: { stock: 5 } }))
        .status,
    ).toBe(200);
    const fault = await control<FaultRecord>('/faults', {
      method: 'POST',
      body: JSON.stringify({ kind: 'hold-lock', productId: product.productId, seconds: 60 }),
    });
    expect(fault).toMatchObject({ status: 'active', detail: { productId: product.productId } });
    // Someone else waits on that row while the lock is held.
    const client = new pg.Client({ connectionString: inject('endpoints').databaseUrl });
    await client.connect();
    try {
      await client.query(`set lock_timeout = '300ms'`);
      await expect(
        client.query('update inventory set stock = stock where product_id = $1', [product.productId]),
      ).rejects.toThrow(/lock timeout/);
      const healed = await control<FaultRecord>(`/faults/${fault.id}`, { method: 'DELETE' });
      expect(healed).toMatchObject({ status: 'healed', healedBy: 'request' });
      await client.query(`set lock_timeout = '5s'`);
      await client.query('update inventory set stock = stock where product_id = $1', [product.productId]);
    } finally {
      await client.end();
    }
  });

  it("kills a function's worker; the function answers again with a fresh one", async () => {
    expect((await api('/health')).status).toBe(200);
    const fault = await control<FaultRecord>('/faults', {
      method: 'POST',
      body: JSON.stringify({ kind: 'kill-worker', function: 'Services-Health' }),
    });
    expect((fault.detail.killed as unknown[]).length).toBe(1);
    await eventually(async () => expect((await api('/health')).status).toBe(200), { timeoutMs: 20_000 });
  });
});
