/**
 * The wire protocol between a {@link LocalFunction} and its worker processes.
 *
 * Invocations travel over the IPC channel (`serialization: 'advanced'`); events and results cross as
 * JSON text, so handlers see exactly what Lambda would give them (a fresh parse, no Dates, no undefined).
 * Logs travel over stdout/stderr, where the worker also writes in-band markers ({@link MARK}) so the
 * parent can tag every line with the request that produced it, whatever order the pipes and the IPC
 * channel are read in.
 *
 * @module
 */

/** The error shape Lambda returns for a failed invocation (`Runtime.*`, `Sandbox.*` or the error's name). */
export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** Parent → worker: run one invocation. The worker only ever has one at a time. */
export interface InvokeMessage {
  type: 'invoke';
  requestId: string;
  /** The event, as JSON text. */
  event: string;
  /** Epoch ms after which the parent kills the worker (`context.getRemainingTimeInMillis()`). */
  deadlineMs: number;
  invokedFunctionArn: string;
  /** `context.clientContext`, as JSON text. */
  clientContext?: string;
  /** Becomes `process.env._X_AMZN_TRACE_ID` for the invocation, as in Lambda. */
  traceId: string;
}

/** Worker → parent. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'initError'; error: LambdaError }
  | {
      type: 'result';
      requestId: string;
      /** The handler's result as JSON text (`'null'` for undefined), when it succeeded. */
      payload?: string;
      error?: LambdaError;
      maxMemoryUsedMB: number;
      /**
       * On how many of stdout and stderr the invocation wrote (each then carries its start and end
       * markers); the parent waits for the end markers of those only. Absent: both.
       */
      logStreams?: number;
    };

/**
 * Starts an in-band marker line on the worker's stdout/stderr, followed by a kind and a payload:
 * `S<requestId>` (the invocation's output on this stream starts), `E<requestId>` (it is complete) or
 * `L<json>` (one structured record from the patched `console`, multi-line messages included). A
 * stream the invocation does not write to carries neither `S` nor `E` for it.
 */
export const MARK = '\u001e';
