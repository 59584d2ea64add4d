/**
 * The registry of deployed functions ({@link LambdaRuntime}) and everything the local cloud needs
 * from the Lambda service.
 *
 * @module
 */
import { type FunctionDefinition, InitSlots, LocalFunction, type RuntimeOptions } from './local-function.ts';
import { defaultWorkerBudget, WorkerBudget } from './worker-budget.ts';

export type {
  FunctionDefinition,
  InvocationFault,
  InvokeResult,
  LambdaError,
  LogLine,
  RuntimeOptions,
} from './local-function.ts';
export type { BudgetMember, WorkerSlot } from './worker-budget.ts';
export { defaultWorkerBudget, InitSlots, LocalFunction, WorkerBudget };

/**
 * The registry of deployed functions, looked up by name or ARN (as the Invoke API accepts them).
 *
 * @example
 * const lambda = new LambdaRuntime({ baseEnv: { AWS_REGION: 'eu-west-1' }, log: (line) => console.log(line) });
 * lambda.add({ name: 'Shop-dev-Services-Me', codeDir, handler: 'index.handler', environment: {}, timeoutSeconds: 10, memoryMB: 256 });
 * const result = await lambda.get('Shop-dev-Services-Me')?.invoke(event);
 * await lambda.stop();
 */
export class LambdaRuntime {
  private readonly options: RuntimeOptions;
  private readonly functions = new Map<string, LocalFunction>();

  constructor(options: RuntimeOptions) {
    // One pool of init slots for all functions: cold starts queue instead of starving each other;
    // one budget of live workers: a burst across many functions does not start 4 processes for each.
    this.options = {
      ...options,
      initSlots: options.initSlots ?? new InitSlots(),
      workerBudget: options.workerBudget ?? new WorkerBudget(),
    };
  }

  /** The workers' budget shared by the functions: its size, live and idle workers, functions waiting. */
  budget(): ReturnType<WorkerBudget['stats']> {
    return (this.options.workerBudget as WorkerBudget).stats();
  }

  /** Deploys a function (workers start on its first invocation). Names must be unique. */
  add(definition: FunctionDefinition): LocalFunction {
    if (this.functions.has(definition.name)) throw new Error(`Function ${definition.name} already exists`);
    const fn = new LocalFunction(definition, this.options);
    this.functions.set(fn.name, fn);
    return fn;
  }

  /** By name, ARN, or either qualified with `:$LATEST`. */
  get(nameOrArn: string): LocalFunction | undefined {
    const key = nameOrArn.endsWith(':$LATEST') ? nameOrArn.slice(0, -':$LATEST'.length) : nameOrArn;
    return this.functions.get(key) ?? this.list().find((fn) => fn.arn === key);
  }

  list(): LocalFunction[] {
    return [...this.functions.values()];
  }

  /** Stops every function; resolves when no worker process is left. */
  async stop(): Promise<void> {
    await Promise.all(this.list().map((fn) => fn.stop()));
  }
}
