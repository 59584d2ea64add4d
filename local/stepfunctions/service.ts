import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { StateMachine as AslStateMachine } from 'aws-local-stepfunctions';

/** Invokes a local Lambda function; resolves to its result or rejects with its error (name = errorType). */
export type InvokeLambda = (functionArn: string, payload: unknown) => Promise<unknown>;

export interface LocalStepFunctionsOptions {
  region: string;
  accountId: string;
  invoke: InvokeLambda;
  /**
   * Waits of `Retry` fields, in milliseconds, instead of the definition's `IntervalSeconds` (with
   * backoff): the local cloud keeps the retries, only shortens the pauses. Unset: the definition's.
   */
  retryIntervalMs?: number;
  log?: (entry: Record<string, unknown>) => void;
}

interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  /** The execution's event log (aws-local-stepfunctions' events), for tests and the control API. */
  events: Record<string, unknown>[];
  done: Promise<void>;
}

interface Machine {
  name: string;
  arn: string;
  definition: Record<string, unknown>;
}

class SfnError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

/**
 * The Step Functions service of the local cloud: state machines from the template (the same
 * definition that deploys), run by `aws-local-stepfunctions`, their Lambda tasks invoking the local
 * functions. Serves the API calls the shop makes through the SDK (`AWS_ENDPOINT_URL_SFN`):
 * StartExecution, DescribeExecution, ListExecutions, ListStateMachines, GetExecutionHistory (simplified).
 */
/**
 * What a definition's validation depends on: the definition and the validating library's version. A
 * deploy keeps the keys of the definitions it validated, so that the next deploy of the same one
 * need not validate it again.
 */
export function validationKey(definition: string): string {
  aslVersion ??= (() => {
    let dir = path.dirname(createRequire(import.meta.url).resolve('aws-local-stepfunctions'));
    while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  })();
  return createHash('sha256').update(`aws-local-stepfunctions@${aslVersion}\n${definition}`).digest('hex');
}
let aslVersion: string | undefined;

export class LocalStepFunctions {
  readonly #options: LocalStepFunctionsOptions;
  readonly #machines = new Map<string, Machine>();
  readonly #executions = new Map<string, Execution>();

  constructor(options: LocalStepFunctionsOptions) {
    this.#options = options;
  }

  /**
   * Deploys a state machine; returns its ARN. The definition is validated the way CloudFormation
   * would, unless `validated` says that this very definition passed that validation before (see
   * {@link validationKey}): the validator's JSON schemas take about 0.3 s to load and compile.
   */
  addStateMachine(
    name: string,
    definition: string | Record<string, unknown>,
    options: { validated?: boolean } = {},
  ): string {
    const arn = `arn:aws:states:${this.#options.region}:${this.#options.accountId}:stateMachine:${name}`;
    const parsed =
      typeof definition === 'string' ? (JSON.parse(definition) as Record<string, unknown>) : definition;
    if (!options.validated)
      new AslStateMachine(parsed as never, { validationOptions: { checkPaths: true, checkArn: true } });
    this.#machines.set(arn, { name, arn, definition: parsed });
    return arn;
  }

  has(arn: string): boolean {
    return this.#machines.has(arn);
  }

  startExecution(
    stateMachineArn: string,
    input: unknown = {},
    name: string = crypto.randomUUID(),
  ): Execution {
    const machine = this.#machines.get(stateMachineArn);
    if (!machine)
      throw new SfnError('StateMachineDoesNotExist', `State machine ${stateMachineArn} does not exist`);
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
      throw new SfnError('InvalidName', `Invalid execution name ${name}`);
    const executionArn = `arn:aws:states:${this.#options.region}:${this.#options.accountId}:execution:${machine.name}:${name}`;
    if (this.#executions.has(executionArn))
      throw new SfnError('ExecutionAlreadyExists', `Execution ${executionArn} already exists`);
    const startDate = new Date();
    const asl = new AslStateMachine(machine.definition as never, {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    const overrides = taskOverrides(machine.definition, this.#options.invoke);
    const run = asl.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: overrides as never,
        ...(this.#options.retryIntervalMs !== undefined
          ? {
              retryIntervalOverrides: Object.fromEntries(
                retryStates(machine.definition).map((s) => [s, this.#options.retryIntervalMs as number]),
              ),
            }
          : {}),
      },
      context: {
        Execution: { Id: executionArn, Name: name, Input: input, StartTime: startDate.toISOString() },
        StateMachine: { Id: stateMachineArn, Name: machine.name },
      } as never,
    });
    const execution: Execution = {
      executionArn,
      stateMachineArn,
      name,
      status: 'RUNNING',
      input: JSON.stringify(input),
      startDate,
      events: [],
      done: Promise.resolve(),
    };
    const log = this.#options.log ?? (() => {});
    const collect = (async () => {
      for await (const event of run.eventLogs)
        execution.events.push(event as unknown as Record<string, unknown>);
    })().catch(() => {});
    execution.done = run.result.then(
      async (output) => {
        await collect;
        execution.status = 'SUCCEEDED';
        execution.output = JSON.stringify(output ?? null);
        execution.stopDate = new Date();
        log({ source: 'stepfunctions', level: 'INFO', message: 'execution succeeded', executionArn });
      },
      async (error: Error & { name: string; cause?: unknown }) => {
        await collect;
        execution.status = 'FAILED';
        execution.error = error.name;
        execution.cause = error.message;
        execution.stopDate = new Date();
        log({
          source: 'stepfunctions',
          level: 'WARN',
          message: 'execution failed',
          executionArn,
          error: error.name,
          cause: error.message,
        });
      },
    );
    this.#executions.set(executionArn, execution);
    log({ source: 'stepfunctions', level: 'INFO', message: 'execution started', executionArn });
    return execution;
  }

  describe(executionArn: string): Execution {
    const execution = this.#executions.get(executionArn);
    if (!execution) throw new SfnError('ExecutionDoesNotExist', `Execution ${executionArn} does not exist`);
    return execution;
  }

  list(stateMachineArn?: string): Execution[] {
    return [...this.#executions.values()]
      .filter((e) => !stateMachineArn || e.stateMachineArn === stateMachineArn)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  machines(): { name: string; arn: string }[] {
    return [...this.#machines.values()].map(({ name, arn }) => ({ name, arn }));
  }

  /** Resolves when no execution is running (for a clean stop). */
  async idle(): Promise<void> {
    await Promise.all([...this.#executions.values()].map((e) => e.done));
  }

  /** The AWS JSON 1.0 protocol the SDK's SFNClient speaks (`X-Amz-Target: AWSStepFunctions.<Op>`). */
  async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = (chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {}) as Record<
        string,
        string
      >;
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1];
      const seconds = (d?: Date) => (d ? d.getTime() / 1000 : undefined);
      const describe = (e: Execution) => ({
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: seconds(e.startDate),
        stopDate: seconds(e.stopDate),
        input: e.input,
        output: e.output,
        error: e.error,
        cause: e.cause,
      });
      switch (operation) {
        case 'StartExecution': {
          const e = this.startExecution(
            body.stateMachineArn as string,
            body.input ? JSON.parse(body.input) : {},
            body.name,
          );
          return send(200, { executionArn: e.executionArn, startDate: seconds(e.startDate) });
        }
        case 'DescribeExecution':
          return send(200, describe(this.describe(body.executionArn as string)));
        case 'ListExecutions':
          return send(200, {
            executions: this.list(body.stateMachineArn)
              .filter((e) => !body.statusFilter || e.status === body.statusFilter)
              .map((e) => {
                const { input: _i, output: _o, error: _e, cause: _c, ...summary } = describe(e);
                return summary;
              }),
          });
        case 'ListStateMachines':
          return send(200, {
            stateMachines: this.machines().map((m) => ({
              stateMachineArn: m.arn,
              name: m.name,
              type: 'STANDARD',
              creationDate: 0,
            })),
          });
        case 'GetExecutionHistory':
          return send(200, {
            events: this.describe(body.executionArn as string).events.map((event, i) => ({
              id: i + 1,
              type: String(event.type),
              timestamp: Number(event.timestamp ?? Date.now()) / 1000,
            })),
          });
        default:
          throw new SfnError('UnknownOperationException', `Unknown operation ${operation}`);
      }
    } catch (error) {
      const type = error instanceof SfnError ? error.type : 'InvalidArn';
      send(400, { __type: type, message: (error as Error).message });
    }
  }
}

/** Every Task state (also inside Parallel and Map) whose resource is a Lambda function, run locally. */
function taskOverrides(definition: Record<string, unknown>, invoke: InvokeLambda) {
  const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
  forEachState(definition, (name, state) => {
    if (state.Type !== 'Task') return;
    const resource = String(state.Resource ?? '');
    if (resource.startsWith('arn:aws:lambda:')) {
      overrides[name] = (input) => invoke(resource, input);
    } else if (resource === 'arn:aws:states:::lambda:invoke') {
      // The SDK-integration form: Parameters carry FunctionName and Payload; the result is the Invoke response.
      overrides[name] = async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
        return { StatusCode: 200, Payload: await invoke(FunctionName, Payload) };
      };
    }
  });
  return overrides;
}

function retryStates(definition: Record<string, unknown>): string[] {
  const names: string[] = [];
  forEachState(definition, (name, state) => {
    if (Array.isArray(state.Retry)) names.push(name);
  });
  return names;
}

function forEachState(
  definition: Record<string, unknown>,
  visit: (name: string, state: Record<string, unknown>) => void,
): void {
  for (const [name, state] of Object.entries(
    (definition.States ?? {}) as Record<string, Record<string, unknown>>,
  )) {
    visit(name, state);
    for (const branch of (state.Branches as Record<string, unknown>[] | undefined) ?? [])
      forEachState(branch, visit);
    const iterator = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown> | undefined;
    if (iterator) forEachState(iterator, visit);
  }
}
