import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FaultController } from '../../local/faults/index.ts';
import { type InvokeResult, LambdaRuntime } from '../../local/lambda/index.ts';

/**
 * FIS's Lambda actions as local faults, checked against the FIS action reference
 * (https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#aws-lambda-actions):
 * `aws:lambda:invocation-error` "marks" the sampled invocations as failed, without running the
 * function when `preventExecution` is true; `aws:lambda:invocation-add-delay` delays their start by
 * `startupDelayMilliseconds`; both sample `invocationPercentage` (1-100, default 100) of invocations.
 */

const fixtures = fileURLToPath(new URL('../fixtures/lambda/', import.meta.url));
const runtime = new LambdaRuntime({ baseEnv: { AWS_REGION: 'eu-west-1' }, log: () => {} });
const add = (name: string) =>
  runtime.add({
    name,
    codeDir: join(fixtures, 'echo'),
    handler: 'index.handler',
    environment: {},
    timeoutSeconds: 5,
    memoryMB: 128,
    maxConcurrency: 1,
  });
const fn = add('Shop-test-Etl-EtlTransformA1B2');
const other = add('Shop-test-Etl-EtlAggregateC3D4');
const faults = new FaultController({
  functions: {
    names: () => runtime.list().map((f) => f.name),
    workers: (name) => runtime.get(name)?.workers() ?? [],
    addInvocationFault: (name, fault) => runtime.get(name)?.addInvocationFault(fault) ?? (() => {}),
  },
});

/** The echo fixture counts the invocations its worker ran. */
const ran = (result: InvokeResult) => {
  if (!result.ok) expect.fail(`invocation failed: ${JSON.stringify(result.error)}`);
  return (result.payload as { invocations: number }).invocations;
};

afterEach(() => faults.healAll());
afterAll(() => runtime.stop());

describe('lambda-invocation-error (aws:lambda:invocation-error)', () => {
  it('with preventExecution fails the invocation without running the handler', async () => {
    const before = ran(await fn.invoke({}));
    await faults.inject('lambda-invocation-error', { function: 'EtlTransform', preventExecution: true });
    const failed = await fn.invoke({});
    expect(failed).toMatchObject({ ok: false, error: { errorType: 'FIS.InvocationError' } });
    await faults.healAll();
    expect(ran(await fn.invoke({}))).toBe(before + 1);
  });

  it('without preventExecution runs the handler, then fails the invocation', async () => {
    const before = ran(await fn.invoke({}));
    await faults.inject('lambda-invocation-error', { function: 'EtlTransform', preventExecution: false });
    expect(await fn.invoke({})).toMatchObject({ ok: false, error: { errorType: 'FIS.InvocationError' } });
    await faults.healAll();
    expect(ran(await fn.invoke({}))).toBe(before + 2);
  });

  it('hits only `count` invocations, then heals itself', async () => {
    const fault = await faults.inject('lambda-invocation-error', { function: 'EtlTransform', count: 2 });
    const results = [await fn.invoke({}), await fn.invoke({}), await fn.invoke({})];
    expect(results.map((r) => r.ok)).toEqual([false, false, true]);
    const listed = faults.list().find((f) => f.id === fault.id);
    expect(listed).toMatchObject({ status: 'healed', healedBy: 'exhausted' });
    expect(JSON.parse(JSON.stringify(listed?.detail))).toMatchObject({ invocationsHit: 2 });
  });

  it('samples invocationPercentage of the invocations', async () => {
    await faults.inject('lambda-invocation-error', {
      function: 'EtlTransform',
      invocationPercentage: 50,
      preventExecution: true,
    });
    let failed = 0;
    for (let i = 0; i < 200; i++) if (!(await fn.invoke({})).ok) failed++;
    // Binomial(200, 0.5): outside 60-140 has a probability below 1e-8.
    expect(failed).toBeGreaterThan(60);
    expect(failed).toBeLessThan(140);
  });

  it('acts on its function only', async () => {
    await faults.inject('lambda-invocation-error', { function: 'EtlAggregate', preventExecution: true });
    expect((await fn.invoke({})).ok).toBe(true);
    expect((await other.invoke({})).ok).toBe(false);
  });

  it('refuses bad parameters with a 400 naming the field, and unknown functions with a 404', async () => {
    const refused = (params: Record<string, unknown>) =>
      faults.inject('lambda-invocation-error', params).then(
        () => expect.fail('accepted'),
        (error: { status: number; field?: string }) => ({ status: error.status, field: error.field }),
      );
    expect(await refused({})).toEqual({ status: 400, field: 'function' });
    expect(await refused({ function: 'Etl' })).toEqual({ status: 400, field: 'function' }); // ambiguous
    expect(await refused({ function: 'Nope' })).toEqual({ status: 404, field: 'function' });
    expect(await refused({ function: 'EtlTransform', invocationPercentage: 0 })).toEqual({
      status: 400,
      field: 'invocationPercentage',
    });
    expect(await refused({ function: 'EtlTransform', preventExecution: 'yes' })).toEqual({
      status: 400,
      field: 'preventExecution',
    });
  });
});

describe('lambda-invocation-add-delay (aws:lambda:invocation-add-delay)', () => {
  it('starts the invocation startupDelayMilliseconds late, and runs it', async () => {
    await fn.invoke({}); // warm
    await faults.inject('lambda-invocation-add-delay', {
      function: 'EtlTransform',
      startupDelayMilliseconds: 300,
    });
    const started = performance.now();
    const result = await fn.invoke({});
    expect(result.ok).toBe(true);
    // A lower bound only: the delay is a floor, never a ceiling.
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  });
});
