import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ACCOUNT_ID, REGION } from '../cloud/account.ts';
import { type InvokeMessage, type LambdaError, MARK, type WorkerMessage } from './protocol.ts';
import { type BudgetMember, WorkerBudget, type WorkerSlot } from './worker-budget.ts';

/** A function as the local cloud deploys it, read from the synthesized template. */
export interface FunctionDefinition {
  /** The function name, e.g. `Shop-dev-Services-Health` (used in logs, errors and the default ARN). */
  name: string;
  /** Absolute directory holding the bundle (`cdk.out/asset.<hash>`); the worker's cwd and `LAMBDA_TASK_ROOT`. */
  codeDir: string;
  /** `file.export` or `dir/file.export.nested`, resolved like Lambda does (`''`, `.js`, `.mjs`, `.cjs`). */
  handler: string;
  /** The function's own variables from the template, already resolved. */
  environment: Record<string, string>;
  /** Enforced: the worker is killed when an invocation runs longer. */
  timeoutSeconds: number;
  /** `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; the worker's V8 heap is capped at 90% of it. */
  memoryMB: number;
  /**
   * Workers that may run at once (default 4; `ReservedConcurrentExecutions`), within the runtime's
   * {@link RuntimeOptions.workerBudget}. More invocations wait in a bounded FIFO queue
   * ({@link RuntimeOptions.maxQueued}); beyond it they are throttled, as Lambda does at its concurrency limit.
   */
  maxConcurrency?: number;
  /** Default `arn:aws:lambda:<AWS_REGION>:<local account id>:function:<name>`. */
  arn?: string;
  /**
   * The template's `Runtime` (default `nodejs24.x`). From `nodejs24.x` on, Lambda refuses callback-style
   * handlers (`Runtime.CallbackHandlerDeprecated`); older runtimes get the callback and `context.done/succeed/fail`.
   */
  runtime?: string;
}

/**
 * What an invocation returns: the handler's JSON result (`null` for undefined), or the error Lambda
 * would report. `durationMs` is the run time as in Lambda's REPORT line (init and queueing excluded);
 * `coldStart` says a new worker was started and initialised for this invocation.
 */
export type InvokeResult =
  | { ok: true; payload: unknown; requestId: string; durationMs: number; coldStart: boolean }
  | {
      ok: false;
      error: LambdaError;
      requestId: string;
      durationMs: number;
      coldStart: boolean;
      timedOut?: boolean;
      /** Refused at the concurrency limit (`TooManyRequestsException`): never ran. */
      throttled?: boolean;
    };

/** One log record: an application line (parsed JSON or `{ level, message }`) or a `platform.*` event. */
export type LogLine = Record<string, unknown>;

/**
 * A fault on a function's invocations, applied the way the AWS FIS Lambda extension applies its
 * `aws:lambda:invocation-*` actions (the kinds are in `local/faults/lambda.ts`). `sample()` is asked
 * once per invocation and says whether this one is hit (an invocation percentage, a count).
 */
export interface InvocationFault {
  sample(): boolean;
  /** Waits this long before the invocation starts (`aws:lambda:invocation-add-delay`). */
  delayMs?: number;
  /**
   * Fails the invocation with `error` (`aws:lambda:invocation-error`): after the handler ran (its
   * side effects happened, its answer is lost), or instead of running it with `preventExecution`.
   */
  failure?: { error: LambdaError; preventExecution: boolean };
}

/** Options shared by every function of a {@link LambdaRuntime}. */
export interface RuntimeOptions {
  /** Supplied by the local cloud: `AWS_REGION`, credentials, `AWS_ENDPOINT_URL_*`... Wins over the function's own. */
  baseEnv: Record<string, string>;
  /** Receives every log line, tagged with `function` and `requestId`. Default: JSON lines on stdout. */
  log?: (line: LogLine) => void;
  /**
   * Idle workers are killed after this long, so the memory of a burst returns (default 60 s; 0 keeps
   * them). Lambda keeps idle environments longer, but it does not bill their memory to your laptop.
   */
  idleTimeoutMs?: number;
  /**
   * Worker inits that may run at once across every function sharing this object (default: the
   * number of CPUs). On Lambda each environment initialises on its own CPU; on one machine, a burst
   * of cold starts in parallel would starve each other past Lambda's 10 s init limit, kill each other
   * and start again. Pass the same object to every function of a runtime ({@link LambdaRuntime} does).
   */
  initSlots?: InitSlots;
  /**
   * Live workers across every function sharing this object (default: {@link defaultWorkerBudget},
   * 4 per CPU). When it is full, a new worker replaces the least recently used idle one of any
   * function; with none idle, invocations wait in their function's queue. A function without a
   * worker always gets one, so functions that wait for each other cannot deadlock.
   */
  workerBudget?: WorkerBudget;
  /**
   * Invocations that may wait for a worker, per function (default 100). Beyond it an invocation is
   * throttled at once (`TooManyRequestsException`), so a burst cannot grow memory without bound.
   */
  maxQueued?: number;
}

export type { LambdaError };

/** A counting semaphore for worker inits, shared by the functions of a runtime. */
export class InitSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(slots = Math.max(1, availableParallelism())) {
    this.#free = slots;
  }

  /** Takes a slot now, or returns false and calls `wake` once one is free. */
  tryAcquire(wake: () => void): boolean {
    if (this.#free > 0) {
      this.#free--;
      return true;
    }
    if (!this.#waiting.includes(wake)) this.#waiting.push(wake);
    return false;
  }

  /** Frees a slot and wakes every waiter (those that do not get it wait again). */
  release(): void {
    this.#free++;
    for (const wake of this.#waiting.splice(0)) wake();
  }
}

/** Lambda gives up on an init phase after 10 s. */
const INIT_TIMEOUT_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** How long a function's init takes until one has been measured (a typical bundle's, ms). */
const DEFAULT_INIT_ESTIMATE_MS = 300;
const DEFAULT_MAX_QUEUED = 100;

interface Job {
  requestId: string;
  event: string;
  clientContext?: string;
  resolve: (result: InvokeResult) => void;
  reject: (error: Error) => void;
  coldStart: boolean;
  initDurationMs?: number;
  /** When it joined the queue (performance.now()). */
  queuedAt: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
  /** The handler's answer, kept until both log pipes have delivered the invocation's output. */
  result?: InvokeResult;
  maxMemoryUsedMB?: number;
  /** The result message plus the end markers on stdout and stderr (those the invocation wrote to). */
  pending: number;
  done: boolean;
}

interface Worker {
  child: ChildProcess;
  spawnedAt: number;
  ready: boolean;
  /** Holds an init slot until it is ready or gone. */
  initSlot: boolean;
  /** Its place in the runtime's worker budget, until it has gone. */
  slot: WorkerSlot;
  job?: Job;
  timer?: NodeJS.Timeout;
}

/**
 * One deployed function: a pool of worker processes (`child_process.fork`), each with only the
 * function's environment, cwd = the bundle, one invocation at a time, init reused while warm.
 *
 * Reproduces Lambda's observable behaviour: cold and warm starts, the timeout (worker killed,
 * `Sandbox.Timedout`, next call cold), handler errors (worker survives), crashes (`Runtime.ExitError`,
 * fresh worker next time), init errors (retried on the next call) and bounded concurrency. Unlike Lambda,
 * invocations beyond `maxConcurrency` first wait in a bounded FIFO queue; when it is full they are
 * throttled (`TooManyRequestsException`, as Lambda answers at its concurrency limit).
 *
 * @example
 * const fn = new LocalFunction(
 *   { name: 'Me', codeDir: '/abs/cdk.out/asset.abc', handler: 'index.handler', environment: {}, timeoutSeconds: 10, memoryMB: 256 },
 *   { baseEnv: { AWS_REGION: 'eu-west-1' } },
 * );
 * const result = await fn.invoke({ requestContext: { authorizer: { sub: 'u1' } } });
 * if (result.ok) console.log(result.payload);
 * await fn.stop();
 */
export class LocalFunction {
  /** As given, with `arn` filled in. */
  readonly definition: FunctionDefinition;
  readonly name: string;
  readonly arn: string;
  private readonly options: RuntimeOptions;
  private readonly log: (line: LogLine) => void;
  private readonly maxConcurrency: number;
  private readonly pool = new Set<Worker>();
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  /** Every process not yet exited, including killed ones, so stop() can wait for them. */
  private readonly exits = new Set<Promise<unknown>>();
  private readonly initSlots: InitSlots;
  private readonly budget: WorkerBudget;
  private readonly wake = () => this.pump();
  /**
   * What the budget sees. A function with no warm worker (none, or all still in their init) wants
   * one at once. One whose warm workers are all busy wants another, at the price of evicting a warm
   * worker of another function (or making one yield), only once its oldest queued invocation has
   * waited as long as an init takes: that is a cold start here and most likely one more for the
   * other function later, while a busy worker usually frees up sooner. Waiting first and paying
   * after the break-even is the ski-rental rule: never more than twice the best choice made knowing
   * the future. With free room in the budget a worker starts at once, as before.
   */
  private readonly member: BudgetMember = {
    wantsWorker: () =>
      this.queue.length > 0 &&
      this.pool.size < this.maxConcurrency &&
      !this.stopped &&
      (this.queuedMs() >= this.initEstimateMs || ![...this.pool].some((w) => w.ready)),
    wake: this.wake,
  };
  /** The last measured init of this function (ms): how long a queued invocation waits before evicting. */
  private initEstimateMs = DEFAULT_INIT_ESTIMATE_MS;
  /** Wakes the queue when its oldest invocation has waited {@link initEstimateMs}. */
  private patienceTimer?: NodeJS.Timeout;
  private readonly invocationFaults = new Set<InvocationFault>();
  private coldStarts = 0;
  private invocations = 0;
  private throttles = 0;
  private stopped = false;

  constructor(definition: FunctionDefinition, options: RuntimeOptions) {
    this.name = definition.name;
    this.arn =
      definition.arn ??
      `arn:aws:lambda:${options.baseEnv.AWS_REGION ?? REGION}:${ACCOUNT_ID}:function:${definition.name}`;
    this.definition = { ...definition, arn: this.arn };
    this.options = options;
    this.log = options.log ?? ((line) => process.stdout.write(`${JSON.stringify(line)}\n`));
    this.maxConcurrency = Math.max(1, definition.maxConcurrency ?? 4);
    this.initSlots = options.initSlots ?? new InitSlots();
    this.budget = options.workerBudget ?? new WorkerBudget();
  }

  /**
   * Runs the handler with `event` (JSON-serialised, as Lambda does) on a free worker, starting one if
   * needed, or waits in the queue. Resolves with the handler's result or Lambda's error, never rejects
   * for a handler failure (only for an event that is not JSON-serialisable, or when stopped).
   *
   * Throttled (`throttled: true`) when the queue is full. `signal`: a caller that gives up (the
   * gateway at 29 s) takes its invocation out of the queue if it has not started; one that runs
   * goes on, as on Lambda.
   */
  async invoke(
    event: unknown,
    options: { requestId?: string; clientContext?: unknown; signal?: AbortSignal } = {},
  ): Promise<InvokeResult> {
    if (this.stopped) throw new Error(`${this.name}: the function has been stopped`);
    const hits = [...this.invocationFaults].filter((fault) => fault.sample());
    if (hits.length === 0) return this.run(event, options);
    const requestId = options.requestId ?? randomUUID();
    const delayMs = Math.max(0, ...hits.map((fault) => fault.delayMs ?? 0));
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const failure = hits.find((fault) => fault.failure)?.failure;
    if (failure) {
      const { errorType, errorMessage } = failure.error;
      const how = failure.preventExecution ? 'instead of running' : 'after running';
      this.emit(
        { level: 'WARN', message: `fault injection: ${errorType} ${how}: ${errorMessage}` },
        requestId,
      );
    }
    if (failure?.preventExecution) {
      this.invocations++;
      return { ok: false, requestId, durationMs: 0, coldStart: false, error: failure.error };
    }
    const result = await this.run(event, { ...options, requestId });
    if (!failure || (!result.ok && result.throttled)) return result;
    const { requestId: id, durationMs, coldStart } = result;
    return { ok: false, requestId: id, durationMs, coldStart, error: failure.error };
  }

  /**
   * Applies a fault to every invocation from now on (each one sampled), until the returned function
   * is called. Used by the local cloud's fault control, never by application code.
   */
  addInvocationFault(fault: InvocationFault): () => void {
    this.invocationFaults.add(fault);
    return () => {
      this.invocationFaults.delete(fault);
    };
  }

  private async run(
    event: unknown,
    options: { requestId?: string; clientContext?: unknown; signal?: AbortSignal },
  ): Promise<InvokeResult> {
    if (this.stopped) throw new Error(`${this.name}: the function has been stopped`);
    const payload = JSON.stringify(event === undefined ? {} : event);
    const clientContext =
      options.clientContext === undefined ? undefined : JSON.stringify(options.clientContext);
    const requestId = options.requestId ?? randomUUID();
    this.invocations++;
    const free = this.idle.length + (this.maxConcurrency - this.pool.size);
    if (this.queue.length >= (this.options.maxQueued ?? DEFAULT_MAX_QUEUED) + Math.max(0, free)) {
      this.throttles++;
      this.platform(
        'platform.throttle',
        { requestId, reason: 'ConcurrentInvocationLimitExceeded' },
        requestId,
      );
      return {
        ok: false,
        requestId,
        durationMs: 0,
        coldStart: false,
        throttled: true,
        error: { errorType: 'TooManyRequestsException', errorMessage: 'Rate Exceeded.' },
      };
    }
    return new Promise((resolve, reject) => {
      const job: Job = {
        requestId,
        event: payload,
        clientContext,
        resolve,
        reject,
        coldStart: false,
        queuedAt: performance.now(),
        startedAt: 0,
        pending: 3,
        done: false,
      };
      this.queue.push(job);
      options.signal?.addEventListener(
        'abort',
        () => {
          const at = this.queue.indexOf(job);
          if (at < 0 || job.done) return;
          this.queue.splice(at, 1);
          job.done = true;
          const errorMessage = `RequestId: ${requestId} Error: the caller gave up before the invocation started`;
          resolve(this.failure(job, { errorType: 'Sandbox.Timedout', errorMessage }, true));
        },
        { once: true },
      );
      this.pump();
    });
  }

  /** Live worker processes: pid, and whether each is running an invocation (for fault injection). */
  workers(): { pid: number; busy: boolean }[] {
    return [...this.pool].flatMap((w) => (w.child.pid ? [{ pid: w.child.pid, busy: Boolean(w.job) }] : []));
  }

  /** Stops the idle workers now, as the idle timeout would later (e.g. a custom resource's, after the deploy). */
  reapIdle(): void {
    for (const worker of [...this.idle]) this.kill(worker);
  }

  /** Kills every worker (SIGKILL) and waits until each process has exited; pending invocations reject. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.patienceTimer);
    const stopped = new Error(`${this.name}: the function has been stopped`);
    const jobs = [...this.queue.splice(0), ...[...this.pool].flatMap((w) => (w.job ? [w.job] : []))];
    for (const job of jobs) {
      job.done = true;
      clearTimeout(job.timer);
      job.reject(stopped);
    }
    for (const worker of [...this.pool]) this.kill(worker);
    await Promise.all(this.exits);
  }

  /** Live workers, those running an invocation, invocations waiting, and counters since creation. */
  stats(): {
    workers: number;
    busy: number;
    queued: number;
    coldStarts: number;
    invocations: number;
    throttles: number;
  } {
    const busy = [...this.pool].filter((w) => w.job).length;
    return {
      workers: this.pool.size,
      busy,
      queued: this.queue.length,
      coldStarts: this.coldStarts,
      invocations: this.invocations,
      throttles: this.throttles,
    };
  }

  /** Hands queued invocations to idle workers, starting workers up to maxConcurrency and the budget. */
  private pump(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop(); // the most recently used, so the others can be reaped
      if (worker) {
        clearTimeout(worker.timer);
        worker.slot.busy();
      } else if (
        this.pool.size < this.maxConcurrency &&
        !this.stopped &&
        this.budget.canStart(this.member) &&
        this.initSlots.tryAcquire(this.wake)
      )
        worker = this.spawn();
      else {
        this.waitForPatience();
        return;
      }
      const job = this.queue.shift() as Job;
      worker.job = job;
      if (worker.ready) this.dispatch(worker, job);
      else {
        job.coldStart = true;
        this.coldStarts++;
      }
    }
  }

  /** Milliseconds the oldest queued invocation has waited (0 with an empty queue). */
  private queuedMs(): number {
    const oldest = this.queue[0];
    return oldest ? performance.now() - oldest.queuedAt : 0;
  }

  /**
   * The queue waits for a busy worker of its own; once its oldest invocation has waited an init's
   * time it may take another function's slot (see {@link member}), so look again then.
   */
  private waitForPatience(): void {
    if (this.patienceTimer || this.stopped || this.pool.size >= this.maxConcurrency) return;
    // Past it already: the budget wakes the function when a slot may be had (no polling meanwhile).
    const wait = this.initEstimateMs - this.queuedMs();
    if (wait <= 0) return;
    this.patienceTimer = setTimeout(() => {
      this.patienceTimer = undefined;
      this.pump();
    }, wait + 1);
    this.patienceTimer.unref();
  }

  private spawn(): Worker {
    const { name, codeDir, handler, memoryMB, runtime = 'nodejs24.x' } = this.definition;
    const region = this.options.baseEnv.AWS_REGION;
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    const env = {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      ...this.definition.environment,
      ...this.options.baseEnv,
      ...(region ? { AWS_REGION: region, AWS_DEFAULT_REGION: region } : {}),
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMB),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_${runtime}`,
      LAMBDA_TASK_ROOT: codeDir,
      _HANDLER: handler,
    };
    const child = fork(workerEntry(), [], {
      cwd: codeDir,
      env,
      execArgv: [
        '--disable-warning=ExperimentalWarning',
        `--max-old-space-size=${Math.floor(memoryMB * 0.9)}`,
      ],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const worker: Worker = {
      child,
      spawnedAt: performance.now(),
      ready: false,
      initSlot: true,
      slot: this.budget.acquire(this.member),
    };
    this.pool.add(worker);
    this.platform('platform.initStart', {
      initializationType: 'on-demand',
      phase: 'init',
      runtime,
      pid: child.pid,
    });

    // Gone = exited and the IPC channel drained (so a result sent just before exiting is not lost).
    const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    );
    const disconnected = new Promise((resolve) => child.once('disconnect', resolve));
    Promise.all([exit, disconnected]).then(([[code, signal]]) => this.gone(worker, code, signal));
    this.exits.add(exit);
    exit.then(() => this.exits.delete(exit));

    child.on('message', (message: WorkerMessage) => this.onMessage(worker, message));
    child.on('error', (error) => {
      this.emit({
        timestamp: new Date().toISOString(),
        level: 'ERROR',
        message: `worker error: ${error.message}`,
      });
      this.kill(worker);
    });
    this.readLogs(worker, child.stdout as Readable, 'stdout');
    this.readLogs(worker, child.stderr as Readable, 'stderr');
    worker.timer = setTimeout(() => {
      this.platform('platform.initReport', {
        phase: 'init',
        status: 'timeout',
        metrics: { durationMs: INIT_TIMEOUT_MS },
      });
      this.kill(worker);
      const job = worker.job;
      if (job) {
        const errorMessage = `Init timed out after ${(INIT_TIMEOUT_MS / 1000).toFixed(2)} seconds`;
        this.settle(worker, job, this.failure(job, { errorType: 'Sandbox.Timedout', errorMessage }, true));
      }
    }, INIT_TIMEOUT_MS);
    return worker;
  }

  private onMessage(worker: Worker, message: WorkerMessage): void {
    const job = worker.job;
    if (message.type === 'ready') {
      clearTimeout(worker.timer);
      worker.ready = true;
      this.freeInitSlot(worker);
      const durationMs = round(performance.now() - worker.spawnedAt);
      this.initEstimateMs = durationMs;
      this.platform('platform.initReport', { phase: 'init', status: 'success', metrics: { durationMs } });
      if (job) {
        job.initDurationMs = durationMs;
        this.dispatch(worker, job);
      }
    } else if (message.type === 'initError') {
      // Lambda resets the environment after a failed init and tries again on the next invocation.
      clearTimeout(worker.timer);
      const durationMs = round(performance.now() - worker.spawnedAt);
      const { errorType } = message.error;
      this.platform('platform.initReport', {
        phase: 'init',
        status: 'error',
        errorType,
        metrics: { durationMs },
      });
      this.kill(worker);
      if (job) this.settle(worker, job, this.failure(job, message.error));
    } else if (job && message.requestId === job.requestId) {
      clearTimeout(job.timer);
      job.maxMemoryUsedMB = message.maxMemoryUsedMB;
      job.result = message.error
        ? this.failure(job, message.error)
        : { ...this.base(job), ok: true, payload: JSON.parse(message.payload ?? 'null') };
      // No end marker will come on a stream the invocation did not write to.
      job.pending -= 2 - (message.logStreams ?? 2);
      this.progress(worker, job);
    }
  }

  private dispatch(worker: Worker, job: Job): void {
    const timeoutMs = this.definition.timeoutSeconds * 1000;
    job.startedAt = performance.now();
    job.timer = setTimeout(() => {
      this.kill(worker);
      const errorMessage = `RequestId: ${job.requestId} Error: Task timed out after ${this.definition.timeoutSeconds.toFixed(2)} seconds`;
      this.settle(worker, job, this.failure(job, { errorType: 'Sandbox.Timedout', errorMessage }, true));
    }, timeoutMs);
    this.platform('platform.start', { requestId: job.requestId, functionVersion: '$LATEST' }, job.requestId);
    const message: InvokeMessage = {
      type: 'invoke',
      requestId: job.requestId,
      event: job.event,
      deadlineMs: Date.now() + timeoutMs,
      invokedFunctionArn: this.arn,
      clientContext: job.clientContext,
      traceId: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Sampled=0`,
    };
    worker.child.send(message);
  }

  /** The worker is gone (crashed, killed or stopped): fail its invocation unless it already answered. */
  private gone(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.retire(worker);
    const job = worker.job;
    if (job && !job.done) {
      if (job.result) this.settle(worker, job, job.result);
      else {
        const reason = signal ? `signal: ${signal === 'SIGKILL' ? 'killed' : signal}` : `exit status ${code}`;
        const errorMessage = `RequestId: ${job.requestId} Error: Runtime exited with error: ${reason}`;
        this.settle(worker, job, this.failure(job, { errorType: 'Runtime.ExitError', errorMessage }));
      }
    }
    this.pump();
  }

  /** One of the things an invocation waits for (result, stdout end, stderr end) arrived. */
  private progress(worker: Worker, job: Job): void {
    if (--job.pending === 0 && job.result) this.settle(worker, job, job.result);
  }

  /** Answers the invocation once, and frees the worker for the next one (unless it was killed). */
  private settle(worker: Worker, job: Job, result: InvokeResult): void {
    if (job.done) return;
    job.done = true;
    clearTimeout(job.timer);
    worker.job = undefined;
    this.release(worker);
    const status = result.ok ? 'success' : result.timedOut ? 'timeout' : 'error';
    this.platform(
      'platform.report',
      {
        requestId: job.requestId,
        status,
        ...(!result.ok && { errorType: result.error.errorType }),
        coldStart: job.coldStart,
        metrics: {
          durationMs: result.durationMs,
          billedDurationMs: Math.ceil(result.durationMs),
          memorySizeMB: this.definition.memoryMB,
          ...(job.maxMemoryUsedMB !== undefined && { maxMemoryUsedMB: job.maxMemoryUsedMB }),
          ...(job.initDurationMs !== undefined && { initDurationMs: job.initDurationMs }),
        },
      },
      job.requestId,
    );
    job.resolve(result);
    this.pump();
  }

  private base(job: Job): { requestId: string; durationMs: number; coldStart: boolean } {
    const durationMs = job.startedAt ? round(performance.now() - job.startedAt) : 0;
    return { requestId: job.requestId, durationMs, coldStart: job.coldStart };
  }

  private failure(job: Job, error: LambdaError, timedOut?: boolean): InvokeResult {
    return { ...this.base(job), ok: false, error, ...(timedOut && { timedOut }) };
  }

  /**
   * Back to the idle list: for the next queued invocation at once (unless it yields its budget slot
   * to a function that waits), or idle, with a reaping timer, and evictable by the budget.
   */
  private release(worker: Worker): void {
    if (!this.pool.has(worker)) return;
    if (this.queue.length > 0) {
      if (worker.slot.shouldYield()) this.kill(worker);
      else this.idle.push(worker);
      return;
    }
    this.idle.push(worker);
    const idleMs = this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (idleMs > 0 && Number.isFinite(idleMs))
      worker.timer = setTimeout(() => this.kill(worker), idleMs).unref();
    // Kept for an init's time before another function may take its slot (see WorkerBudget).
    worker.slot.idle(() => this.kill(worker), this.initEstimateMs);
  }

  private freeInitSlot(worker: Worker): void {
    if (!worker.initSlot) return;
    worker.initSlot = false;
    this.initSlots.release();
  }

  /** Out of the pool; its process is tracked in `exits` until it has gone. */
  private retire(worker: Worker): void {
    this.freeInitSlot(worker);
    clearTimeout(worker.timer);
    this.pool.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    worker.slot.release();
  }

  private kill(worker: Worker): void {
    this.retire(worker);
    worker.child.kill('SIGKILL');
  }

  /**
   * Turns a worker's output into log records. In-band markers say which request is running
   * (`S`), that its output is complete (`E`), or carry a record from the patched console (`L`).
   */
  private readLogs(worker: Worker, stream: Readable, name: 'stdout' | 'stderr'): void {
    let requestId: string | undefined;
    readLines(stream, (line) => {
      const at = line.indexOf(MARK);
      const text = at < 0 ? line : line.slice(0, at);
      if (text.trim()) {
        const parsed = parseObject(text);
        this.emit(
          parsed ?? {
            timestamp: new Date().toISOString(),
            level: 'INFO',
            message: text,
            ...(name === 'stderr' && { stream: name }),
          },
          requestId,
        );
      }
      if (at < 0) return;
      const kind = line[at + 1];
      const rest = line.slice(at + 2);
      if (kind === 'S') requestId = rest;
      else if (kind === 'E' && worker.job?.requestId === rest) this.progress(worker, worker.job);
      else if (kind === 'L') {
        const { message, ...record } = parseObject(rest) ?? { message: rest };
        const parsed = parseObject(String(message));
        this.emit(
          parsed ? { timestamp: record.timestamp, level: record.level, ...parsed } : { ...record, message },
          requestId,
        );
      }
    });
  }

  private emit(line: LogLine, requestId?: string): void {
    this.log({ ...line, function: this.name, ...(requestId !== undefined && { requestId }) });
  }

  /** Lambda's telemetry events (`platform.initStart`, `platform.initReport`, `platform.start`, `platform.report`). */
  private platform(type: string, record: Record<string, unknown>, requestId?: string): void {
    this.emit(
      { time: new Date().toISOString(), type, record: { functionName: this.name, ...record } },
      requestId,
    );
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** A JSON object line (Powertools, `console.log(JSON.stringify(...))`), or undefined. */
function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function readLines(stream: Readable, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let start = 0;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n', start)) {
      onLine(buffer.slice(start, buffer[nl - 1] === '\r' ? nl - 1 : nl));
      start = nl + 1;
    }
    buffer = buffer.slice(start);
  });
  stream.on('end', () => buffer && onLine(buffer));
}

const WORKER_SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));
let workerPath: string | undefined;

/**
 * Node loads its TypeScript stripper for every .ts entry point (30-70 ms here, more than the rest of a
 * cold start), so workers start from a type-stripped copy of worker.ts in the temp directory (named by
 * content hash, checked before use). Falls back to worker.ts itself if that cannot be done.
 */
function workerEntry(): string {
  if (workerPath) return workerPath;
  try {
    const code = stripTypeScriptTypes(readFileSync(WORKER_SOURCE, 'utf8'));
    const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
    const file = join(tmpdir(), `local-lambda-worker-${hash}.mjs`);
    if (!existsSync(file) || readFileSync(file, 'utf8') !== code) {
      writeFileSync(`${file}.${process.pid}`, code);
      renameSync(`${file}.${process.pid}`, file);
    }
    workerPath = file;
  } catch {
    workerPath = WORKER_SOURCE;
  }
  return workerPath;
}
