import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type FunctionDefinition,
  type InvokeResult,
  LambdaRuntime,
  type LocalFunction,
  type LogLine,
  WorkerBudget,
} from '../../local/lambda/index.ts';

/** The local Lambda runtime on its own, with the tiny handlers in test/fixtures/lambda. */

const fixtures = fileURLToPath(new URL('../fixtures/lambda/', import.meta.url));
const logs: LogLine[] = [];
const runtime = new LambdaRuntime({
  baseEnv: { AWS_REGION: 'eu-west-1', BASE_VAR: 'from-base' },
  log: (line) => logs.push(line),
});

function add(name: string, fixture: string, overrides: Partial<FunctionDefinition> = {}) {
  return runtime.add({
    name,
    codeDir: join(fixtures, fixture),
    handler: 'index.handler',
    environment: {},
    timeoutSeconds: 3,
    memoryMB: 128,
    ...overrides,
  });
}

/** What the echo fixture answers. */
interface Echo {
  env: Record<string, string>;
  envKeys: string[];
  pid: number;
  cwd: string;
  sourceMapsEnabled: boolean;
  context: Record<string, unknown> & { remainingTimeInMillis: number };
}

/** The payload of a successful invocation (fails the test otherwise). */
function payload<T = Record<string, unknown>>(result: InvokeResult): T {
  if (!result.ok) expect.fail(`invocation failed: ${JSON.stringify(result.error)}`);
  return result.payload as T;
}

function failure(result: InvokeResult) {
  if (result.ok) expect.fail(`invocation succeeded: ${JSON.stringify(result.payload)}`);
  return result;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Worker pids, from the platform.initStart records. */
const pidsOf = (fn?: string) =>
  logs
    .filter((l) => l.type === 'platform.initStart' && (!fn || l.function === fn))
    .map((l) => (l.record as { pid: number }).pid);

afterAll(() => runtime.stop());

describe('LocalFunction', () => {
  it('runs each function in its own process with only its own environment', async () => {
    process.env.PARENT_ONLY_SECRET = 'must-not-leak';
    try {
      const a = add('iso-a', 'echo', {
        environment: { SHARED: 'value-a', NODE_OPTIONS: '--enable-source-maps' },
      });
      const b = add('iso-b', 'echo', { environment: { SHARED: 'value-b' }, memoryMB: 256 });
      const envNames = [
        'SHARED',
        'PARENT_ONLY_SECRET',
        'BASE_VAR',
        'AWS_REGION',
        'TZ',
        '_HANDLER',
        'LAMBDA_TASK_ROOT',
      ];
      const [ra, rb] = await Promise.all([
        a.invoke({ envNames }, { clientContext: { app: 'test' } }),
        b.invoke({ envNames }),
      ]);
      const pa = payload<Echo>(ra);
      const pb = payload<Echo>(rb);

      expect(pa.env).toEqual({
        SHARED: 'value-a',
        BASE_VAR: 'from-base',
        AWS_REGION: 'eu-west-1',
        TZ: ':UTC',
        _HANDLER: 'index.handler',
        LAMBDA_TASK_ROOT: join(fixtures, 'echo'),
      });
      expect(pb.env).toMatchObject({ SHARED: 'value-b' });
      expect(pb.env).not.toHaveProperty('PARENT_ONLY_SECRET');
      expect(pa.pid).not.toBe(pb.pid);
      expect([pa.pid, pb.pid]).not.toContain(process.pid);
      expect(pa.cwd).toBe(join(fixtures, 'echo'));
      expect(pa.sourceMapsEnabled).toBe(true); // NODE_OPTIONS from the function's environment
      expect(pb.sourceMapsEnabled).toBe(false);

      // Nothing of the parent's environment besides what the function, baseEnv and Lambda define.
      const allowed = [
        ...['SHARED', 'NODE_OPTIONS', 'BASE_VAR', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'PATH', 'LANG', 'TZ'],
        ...['AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE'],
        ...['AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_LAMBDA_INITIALIZATION_TYPE'],
        ...['AWS_EXECUTION_ENV', 'LAMBDA_TASK_ROOT', '_HANDLER', '_X_AMZN_TRACE_ID'],
      ];
      expect(pa.envKeys.filter((k) => !allowed.includes(k))).toEqual([]);

      expect(pb.context).toMatchObject({
        functionName: 'iso-b',
        functionVersion: '$LATEST',
        invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:iso-b',
        memoryLimitInMB: '256',
        logGroupName: '/aws/lambda/iso-b',
        logStreamName: expect.stringMatching(/^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/),
        awsRequestId: rb.requestId,
        hasCallbackWaits: false, // gone in nodejs24.x
      });
      expect(pa.context).toMatchObject({ clientContext: { app: 'test' } });
      const remaining = pa.context.remainingTimeInMillis;
      expect(remaining).toBeGreaterThan(2000);
      expect(remaining).toBeLessThanOrEqual(3000);

      expect(runtime.get('iso-a')).toBe(a);
      expect(runtime.get(a.arn)).toBe(a);
      expect(runtime.get(`${a.arn}:$LATEST`)).toBe(a);
      expect(runtime.get('nope')).toBeUndefined();
    } finally {
      delete process.env.PARENT_ONLY_SECRET;
    }
  });

  it('initialises a worker once and reuses it warm', async () => {
    const fn = add('warm', 'echo');
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await fn.invoke({ i }));
    const payloads = results.map((r) => payload(r));

    expect(results.map((r) => r.coldStart)).toEqual([true, false, false]);
    expect(payloads.map((p) => p.initCount)).toEqual([1, 1, 1]);
    expect(payloads.map((p) => p.invocations)).toEqual([1, 2, 3]);
    expect(new Set(payloads.map((p) => p.pid)).size).toBe(1);
    expect(payloads[2]?.event).toEqual({ i: 2 });
    expect(fn.stats()).toEqual({
      workers: 1,
      busy: 0,
      queued: 0,
      coldStarts: 1,
      invocations: 3,
      throttles: 0,
    });

    const reports = logs.filter((l) => l.function === 'warm' && l.type === 'platform.report');
    const records = reports.map((r) => r.record as { coldStart: boolean; metrics: Record<string, number> });
    expect(records.map((r) => r.coldStart)).toEqual([true, false, false]);
    expect(records[0]?.metrics.initDurationMs).toBeGreaterThan(0);
    expect(records[1]?.metrics).not.toHaveProperty('initDurationMs');

    const nothing = add('returns-undefined', 'echo', { handler: 'index.nothing' });
    expect(payload(await nothing.invoke(undefined))).toBeNull();
  });

  it('tags every log line with the function name and request id', async () => {
    const fn = add('logs', 'logs');
    await fn.invoke({ detail: { x: 1 } }, { requestId: 'req-logs-1' });
    // Complete as soon as invoke() resolves.
    const lines = logs.filter((l) => l.function === 'logs' && l.requestId === 'req-logs-1');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'INFO', message: 'plain text from console.log' }),
        expect.objectContaining({ level: 'ERROR', message: 'something went wrong: { x: 1 }' }),
        expect.objectContaining({ level: 'INFO', message: 'multi\nline' }),
        {
          level: 'INFO',
          message: 'structured',
          service: 'logs-fixture',
          n: 1,
          function: 'logs',
          requestId: 'req-logs-1',
        },
        expect.objectContaining({ level: 'INFO', message: 'raw stderr line', stream: 'stderr' }),
        expect.objectContaining({ level: 'INFO', message: 'raw without newline' }),
        expect.objectContaining({ type: 'platform.start' }),
        expect.objectContaining({ type: 'platform.report' }),
      ]),
    );
    expect(lines.filter((l) => l.level)).toHaveLength(6);
    for (const line of lines.filter((l) => l.level && l.message !== 'structured')) {
      expect(line.timestamp).toEqual(expect.any(String));
    }
  });

  it('answers invocations that log on one stream or none, and still tags each line with its request', async () => {
    const fn = add('some-logs', 'some-logs');
    // One warm worker, calls in turn: each waits only for the end markers of the streams it wrote to
    // (waiting for one that never comes would hang the call until the test times out).
    const plan = [[], ['stderr'], [], ['stdout'], ['stdout', 'stderr'], []];
    for (const [n, streams] of plan.entries()) {
      const result = await fn.invoke({ n, streams }, { requestId: `req-some-${n}` });
      expect(payload(result)).toEqual({ n });
      const lines = logs.filter(
        (l) => l.function === 'some-logs' && l.requestId === `req-some-${n}` && l.level,
      );
      expect(lines.map((l) => l.message).sort()).toEqual(streams.map((s) => `${s} of call ${n}`).sort());
    }
    expect(fn.stats()).toMatchObject({ workers: 1, coldStarts: 1, invocations: plan.length });
  });

  it('returns a thrown error as Lambda does and keeps the worker', async () => {
    const fn = add('thrower', 'thrower');
    const { pid } = payload<{ pid: number }>(await fn.invoke({}));

    const failed = failure(await fn.invoke({ throw: 'price' }, { requestId: 'req-throw' }));
    expect(failed.error).toMatchObject({ errorType: 'ValidationError', errorMessage: 'bad input: price' });
    expect(failed.error.trace?.[0]).toBe('ValidationError: bad input: price');
    expect(failed.error.trace?.some((line) => line.includes('thrower/index.mjs'))).toBe(true);
    expect(failed.timedOut).toBeUndefined();
    expect(logs).toContainEqual(
      expect.objectContaining({
        requestId: 'req-throw',
        level: 'ERROR',
        message: 'Invoke Error',
        errorType: 'ValidationError',
      }),
    );

    expect(failure(await fn.invoke({ throwString: 'just a string' })).error).toMatchObject({
      errorType: 'string',
      errorMessage: 'just a string',
    });

    const after = await fn.invoke({});
    expect(payload(after).pid).toBe(pid);
    expect(after.coldStart).toBe(false);
  });

  it('kills a handler that runs past its timeout; the next call gets a fresh worker', async () => {
    const fn = add('sleeper', 'sleeper', { timeoutSeconds: 1 });
    const { pid } = payload<{ pid: number }>(await fn.invoke({ ms: 1 }));

    const timedOut = failure(await fn.invoke({ ms: 10_000 }));
    expect(timedOut).toMatchObject({ timedOut: true, coldStart: false });
    expect(timedOut.error.errorType).toBe('Sandbox.Timedout');
    expect(timedOut.error.errorMessage).toBe(
      `RequestId: ${timedOut.requestId} Error: Task timed out after 1.00 seconds`,
    );
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(1000);
    expect(timedOut.durationMs).toBeLessThan(1500);
    await expect.poll(() => alive(pid)).toBe(false);

    const next = await fn.invoke({ ms: 1 });
    expect(next.coldStart).toBe(true);
    expect(payload(next).pid).not.toBe(pid);
  });

  it('supports callback handlers before nodejs24.x and rejects them from nodejs24.x on', async () => {
    const legacy = add('callback-22', 'callback', { runtime: 'nodejs22.x' });
    const ok = await legacy.invoke({ question: 21 });
    expect(payload(ok)).toEqual({ answer: 42, requestId: ok.requestId });
    expect(failure(await legacy.invoke({ fail: 'nope' })).error).toMatchObject({
      errorType: 'Error',
      errorMessage: 'failed: nope',
    });
    const echo22 = add('echo-22', 'echo', { runtime: 'nodejs22.x' });
    expect(payload(await echo22.invoke({})).context).toMatchObject({ hasCallbackWaits: true });

    const current = add('callback-24', 'callback');
    expect(failure(await current.invoke({ question: 1 })).error.errorType).toBe(
      'Runtime.CallbackHandlerDeprecated',
    );
  });

  it('reports init errors, retries the init, and resolves handlers like Lambda', async () => {
    const fn = add('init-error', 'init-error');
    for (let i = 0; i < 2; i++) {
      const failed = failure(await fn.invoke({}));
      expect(failed.coldStart).toBe(true);
      expect(failed.error).toMatchObject({ errorType: 'TypeError', errorMessage: 'CONFIG_TABLE is not set' });
    }
    expect(fn.stats()).toMatchObject({ coldStarts: 2, invocations: 2, busy: 0 });
    const lines = logs.filter((l) => l.function === 'init-error');
    expect(lines).toContainEqual(expect.objectContaining({ level: 'INFO', message: 'initialising' }));
    expect(lines).toContainEqual(
      expect.objectContaining({
        type: 'platform.initReport',
        record: expect.objectContaining({ status: 'error' }),
      }),
    );

    const missing = add('missing-module', 'echo', { handler: 'missing.handler' });
    expect(failure(await missing.invoke({})).error.errorType).toBe('Runtime.ImportModuleError');
    const noExport = add('missing-export', 'echo', { handler: 'index.nope' });
    expect(failure(await noExport.invoke({})).error).toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.nope is undefined or not exported',
    });
    // `.js` outside a package scope of its own, as in /var/task: CommonJS unless it has ES module syntax.
    const commonjs = add('commonjs-js', 'commonjs');
    expect(payload(await commonjs.invoke({}))).toEqual({
      greeting: 'hello from CommonJS',
      moduleType: 'object',
    });
    const esm = add('esm-js', 'esm-js');
    expect(payload(await esm.invoke({}))).toEqual({ moduleType: 'undefined', url: true });
    // `dir/file.export.nested`, resolved to a CommonJS .cjs file.
    const nested = add('nested', 'nested', { handler: 'lib/app.nested.handler' });
    expect(payload(await nested.invoke({ q: 1 }))).toEqual({ module: 'cjs', echo: { q: 1 } });
  });

  it('fails the invocation with Runtime.ExitError when the worker dies, then starts a new one', async () => {
    const fn = add('crash', 'crash');
    const { pid } = payload<{ pid: number }>(await fn.invoke({}));

    const exited = failure(await fn.invoke({ exit: 3 }));
    expect(exited.error).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${exited.requestId} Error: Runtime exited with error: exit status 3`,
    });
    const next = await fn.invoke({});
    expect(next.coldStart).toBe(true);
    expect(payload(next).pid).not.toBe(pid);

    const uncaught = failure(await fn.invoke({ uncaught: true }, { requestId: 'req-uncaught' }));
    expect(uncaught.error.errorType).toBe('Runtime.ExitError');
    expect(uncaught.error.errorMessage).toMatch(/exit status 129$/);
    expect(logs).toContainEqual(
      expect.objectContaining({
        requestId: 'req-uncaught',
        message: 'Uncaught Exception',
        errorMessage: 'thrown outside the handler',
      }),
    );
    expect(payload(await fn.invoke({})).pid).toEqual(expect.any(Number));
  });

  it('runs at most maxConcurrency invocations at once and queues the rest', async () => {
    const fn = add('concurrency', 'sleeper', { maxConcurrency: 2 });
    const started = performance.now();
    const pending = Array.from({ length: 6 }, () => fn.invoke({ ms: 200 }));
    expect(fn.stats()).toMatchObject({ workers: 2, busy: 2, queued: 4 });
    const runs = (await Promise.all(pending)).map((r) =>
      payload<{ pid: number; start: number; end: number }>(r),
    );
    const elapsed = performance.now() - started;

    expect(elapsed).toBeGreaterThanOrEqual(3 * 200);
    expect(new Set(runs.map((r) => r.pid)).size).toBe(2);
    const overlapping = (t: number) => runs.filter((r) => r.start <= t && t < r.end).length;
    expect(Math.max(...runs.map((r) => overlapping(r.start)))).toBeLessThanOrEqual(2);
    // FIFO: the last two queued ran last.
    const starts = runs.map((r) => r.start);
    expect(Math.min(...starts.slice(4))).toBeGreaterThanOrEqual(Math.max(...starts.slice(0, 4)));
    expect(fn.stats()).toMatchObject({ workers: 2, busy: 0, queued: 0, coldStarts: 2, invocations: 6 });
  });

  it('throttles at once when the queue is full (TooManyRequestsException), and drops a queued invocation its caller gave up on', async () => {
    // Lambda answers TooManyRequestsException at the concurrency limit (Lambda developer guide,
    // "Lambda function scaling"); the local runtime first queues a bounded number, then throttles.
    const bounded = new LambdaRuntime({ baseEnv: {}, log: () => {}, maxQueued: 2 });
    const fn = bounded.add({
      name: 'bounded',
      codeDir: join(fixtures, 'sleeper'),
      handler: 'index.handler',
      environment: {},
      timeoutSeconds: 3,
      memoryMB: 128,
      maxConcurrency: 1,
    });
    try {
      const running = fn.invoke({ ms: 400 });
      const caller = new AbortController();
      const queued = [fn.invoke({ ms: 1 }, { signal: caller.signal }), fn.invoke({ ms: 1 })];
      const throttled = await fn.invoke({ ms: 1 });
      expect(throttled).toMatchObject({
        ok: false,
        throttled: true,
        error: { errorType: 'TooManyRequestsException', errorMessage: 'Rate Exceeded.' },
      });
      expect(fn.stats()).toMatchObject({ busy: 1, queued: 2, throttles: 1 });
      caller.abort();
      expect(await queued[0]).toMatchObject({ ok: false, timedOut: true });
      expect(fn.stats().queued).toBe(1);
      expect((await running).ok).toBe(true);
      expect((await queued[1])?.ok).toBe(true);
    } finally {
      await bounded.stop();
    }
  });

  it('reaps idle workers after idleTimeoutMs', async () => {
    const reaping = new LambdaRuntime({ baseEnv: {}, log: () => {}, idleTimeoutMs: 100 });
    const fn = reaping.add({
      name: 'reaped',
      codeDir: join(fixtures, 'echo'),
      handler: 'index.handler',
      environment: {},
      timeoutSeconds: 3,
      memoryMB: 128,
    });
    const { pid } = payload<{ pid: number }>(await fn.invoke({}));
    await expect.poll(() => alive(pid)).toBe(false);
    expect(fn.stats().workers).toBe(0);
    expect((await fn.invoke({})).coldStart).toBe(true);
    await reaping.stop();
  });

  it('stop() leaves no worker process behind', async () => {
    const inFlight = runtime
      .get('sleeper')
      ?.invoke({ ms: 10_000 })
      .then(
        () => 'resolved',
        (error: Error) => error.message,
      );
    const pids = pidsOf();
    expect(pids.length).toBeGreaterThan(10);
    expect(pids.filter(alive).length).toBeGreaterThan(0);

    await runtime.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(await inFlight).toBe('sleeper: the function has been stopped');
    await expect(runtime.get('warm')?.invoke({})).rejects.toThrow(/stopped/);
    expect(runtime.list().every((fn) => fn.stats().workers === 0)).toBe(true);
  });
});

describe('WorkerBudget with real workers', () => {
  const budgeted = (size: number) =>
    new LambdaRuntime({ baseEnv: {}, log: () => {}, workerBudget: new WorkerBudget(size) });
  const define = (name: string, fixture: string, timeoutSeconds = 3): FunctionDefinition => ({
    name,
    codeDir: join(fixtures, fixture),
    handler: 'index.handler',
    environment: {},
    timeoutSeconds,
    memoryMB: 128,
  });

  it('evicts the least recently used idle worker of another function when the budget is full', async () => {
    const tight = budgeted(2);
    try {
      const [x, y, z] = ['x', 'y', 'z'].map((name) => tight.add(define(name, 'echo')));
      const xPid = payload<Echo>(await (x as LocalFunction).invoke({})).pid;
      const yPid = payload<Echo>(await (y as LocalFunction).invoke({})).pid;
      expect(tight.budget()).toMatchObject({ size: 2, live: 2, idle: 2 });
      expect((await (z as LocalFunction).invoke({})).ok).toBe(true);
      await expect.poll(() => alive(xPid)).toBe(false); // x idled first
      expect(alive(yPid)).toBe(true);
      expect([x, y, z].map((fn) => fn?.stats().workers)).toEqual([0, 1, 1]);
      expect(tight.budget()).toMatchObject({ live: 2 });
      // y is still warm: the same process answers.
      expect(payload<Echo>(await (y as LocalFunction).invoke({})).pid).toBe(yPid);
    } finally {
      await tight.stop();
    }
  });

  it('cannot deadlock when every worker of the budget waits for another function', async () => {
    // Each caller invocation holds its worker until the callee has answered it (as a handler doing a
    // synchronous Invoke would). Three callers on a budget of 2: if the callee could not start a worker
    // until a caller's was free, the callers would wait until their timeout (20 s) and fail.
    const tight = budgeted(2);
    const callee = tight.add(define('callee', 'sleeper'));
    const caller = tight.add({ ...define('caller', 'caller', 20), maxConcurrency: 2 });
    const server = createServer((_req, res) => {
      void callee.invoke({ ms: 50 }).then((result) => res.end(JSON.stringify(result)));
    }).listen(0, '127.0.0.1');
    try {
      await once(server, 'listening');
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const results = await Promise.all(Array.from({ length: 3 }, () => caller.invoke({ url })));
      for (const result of results) {
        const { answer } = payload<{ answer: InvokeResult }>(result);
        expect(answer).toMatchObject({ ok: true, payload: { pid: expect.any(Number) } });
      }
      expect(caller.stats()).toMatchObject({ coldStarts: 2, invocations: 3 });
      expect(callee.stats().invocations).toBe(3);
      // The callee's worker was over the budget: idle, it went, and the budget is back to its size.
      await expect.poll(() => tight.budget().live).toBeLessThanOrEqual(2);
    } finally {
      server.close();
      await tight.stop();
    }
  });
});
