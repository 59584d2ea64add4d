/**
 * The worker process behind a {@link LocalFunction}: a small stand-in for Lambda's Node.js runtime
 * interface client. It loads the handler once (init), then runs invocations sent over IPC, one at a time.
 *
 * It must stay self-contained (only `node:` imports and `import type`), because the parent starts a
 * type-stripped copy of this file from the temp directory (see `workerEntry` in local-function.ts).
 *
 * @module
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire, registerHooks } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { Script } from 'node:vm';
import type { InvokeMessage, LambdaError, WorkerMessage } from './protocol.ts';

/** Same as `MARK` in protocol.ts (not imported: see the note above). */
const MARK = '\u001e';
/** Lambda's limit for a synchronous response. */
const MAX_RESPONSE_BYTES = 6_291_556;

type Handler = (
  event: unknown,
  context: object,
  callback?: (error?: unknown, result?: unknown) => void,
) => unknown;

const env = process.env;
// Captured before user code runs, so markers still get through if it replaces them.
const rawStdout = process.stdout.write.bind(process.stdout);
const rawStderr = process.stderr.write.bind(process.stderr);
/**
 * The invocation running, and the streams it has written to. A stream gets its start marker just
 * before the invocation's first output on it, and its end marker only then: an invocation that
 * logs nothing costs no pipe writes at all (four per invocation were on every request's path).
 */
let current: { requestId: string; stdout: boolean; stderr: boolean } | undefined;
function opened(stream: 'stdout' | 'stderr'): string {
  if (!current || current[stream]) return '';
  current[stream] = true;
  return `${MARK}S${current.requestId}\n`;
}
const stdout = (text: string) => rawStdout(opened('stdout') + text);
// Output that bypasses console.* (a logger with its own Console, process.stdout.write) opens the stream too.
for (const [name, raw] of [
  ['stdout', rawStdout],
  ['stderr', rawStderr],
] as const) {
  const stream = process[name];
  stream.write = ((...args: Parameters<typeof stream.write>) => {
    const marker = opened(name);
    if (marker) raw(marker);
    return raw(...args);
  }) as typeof stream.write;
}
const send = (message: WorkerMessage, done?: () => void) =>
  process.send?.(message, undefined, undefined, done);
/** nodejs24.x dropped callback handlers and context.done/succeed/fail; older runtimes keep them. */
const legacy = Number(/nodejs(\d+)/.exec(env.AWS_EXECUTION_ENV ?? '')?.[1] ?? 24) < 24;

function named(errorType: string, message: string, stack?: string): Error {
  const error = new Error(message);
  error.name = errorType;
  if (stack) error.stack = stack;
  return error;
}

/** As the runtime interface client does: errorType is the error's `name`. */
function toLambdaError(error: unknown): LambdaError {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message, trace: error.stack?.split('\n') ?? [] };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

/** One structured log record, multi-line messages included, written as a single marker line. */
function record(level: string, message: string, fields?: object): void {
  stdout(`${MARK}L${JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...fields })}\n`);
}

function logError(message: string, error: LambdaError): void {
  record('ERROR', message, {
    errorType: error.errorType,
    errorMessage: error.errorMessage,
    stackTrace: error.trace,
  });
}

// Like Lambda, console.* write one record each with a level; raw stdout/stderr writes stay lines.
const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
for (const [method, level] of Object.entries(levels)) {
  (console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
    record(level, format(...args));
}

/** Whether a package.json sits between `dir` and the code root (inclusive), i.e. the bundle sets its own scope. */
function scoped(dir: string, root: string): boolean {
  for (; dir.startsWith(root); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return true;
    if (dir === root) break;
  }
  return false;
}

/** Node's own rule for a `.js` file outside any package scope: CommonJS unless it has ES module syntax. */
function formatOf(source: string, file: string): 'commonjs' | 'module' {
  try {
    new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
      filename: file,
    });
    return 'commonjs';
  } catch (error) {
    const esm =
      /Cannot use import statement|Unexpected token 'export'|Cannot use 'import\.meta'|await is only valid/;
    return esm.test(String(error)) ? 'module' : 'commonjs';
  }
}

/**
 * Lambda unpacks the code in /var/task, outside any package.json, where `.js` files are CommonJS unless
 * they use ES module syntax. A bundle in cdk.out sits inside this repository's `"type": "module"` scope
 * instead, which would make CDK's CommonJS handlers (custom resources) fail; so for `.js` files under the
 * code root that no package.json of the bundle covers, a module hook decides the format as Lambda would.
 */
async function importModule(file: string, root: string): Promise<unknown> {
  if (file.endsWith('.js') && !scoped(dirname(file), root)) {
    const rootUrl = pathToFileURL(`${root}/`).href;
    registerHooks({
      load(url, context, nextLoad) {
        if (!url.startsWith(rootUrl) || !url.endsWith('.js')) return nextLoad(url, context);
        const path = fileURLToPath(url);
        if (scoped(dirname(path), root)) return nextLoad(url, context);
        const source = readFileSync(path, 'utf8');
        return { format: formatOf(source, path), source, shortCircuit: true };
      },
    });
    // import() would hand a CommonJS file back to the CommonJS loader, which rereads the package type.
    if (formatOf(readFileSync(file, 'utf8'), file) === 'commonjs') return createRequire(file)(file);
  }
  return import(pathToFileURL(file).href);
}

/** Resolves `_HANDLER` (`dir/file.export.nested`) like the Lambda Node.js runtime. */
async function loadHandler(): Promise<Handler> {
  const handlerString = env._HANDLER ?? '';
  const root = env.LAMBDA_TASK_ROOT ?? process.cwd();
  if (handlerString.includes('..')) {
    throw named('Runtime.MalformedHandlerName', `'${handlerString}' is not a valid handler name.`);
  }
  const file = basename(handlerString);
  const moduleRoot = handlerString.slice(0, handlerString.length - file.length);
  const match = /^([^.]*)\.(.*)$/.exec(file);
  if (!match?.[1] || !match[2]) throw named('Runtime.MalformedHandlerName', 'Bad handler');
  const [, moduleName, path] = match;

  let module: unknown;
  try {
    const base = resolve(root, moduleRoot, moduleName);
    const found = ['', '.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
    if (found) module = await importModule(found, realpathSync(root));
    else {
      const require = createRequire(join(root, 'index.js'));
      module = require(require.resolve(moduleName, { paths: [root, join(root, moduleRoot)] }));
    }
  } catch (error) {
    if (error instanceof SyntaxError) throw named('Runtime.UserCodeSyntaxError', String(error), error.stack);
    if ((error as { code?: string }).code === 'MODULE_NOT_FOUND') {
      throw named('Runtime.ImportModuleError', String(error));
    }
    throw error;
  }

  const find = (from: unknown) =>
    path
      .split('.')
      .reduce<unknown>(
        (o, key) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined),
        from,
      );
  const handler = find(module) ?? find((module as { default?: unknown }).default);
  if (!handler) throw named('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  if (typeof handler !== 'function')
    throw named('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  if (!legacy && handler.length >= 3) {
    throw named(
      'Runtime.CallbackHandlerDeprecated',
      'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. ' +
        'You need to modify this function to use a supported handler signature to use Node.js 24 or later.',
    );
  }
  return handler as Handler;
}

function invoke(handler: Handler, message: InvokeMessage): void {
  const { requestId, deadlineMs } = message;
  let done = false;
  const finish = (failed: boolean, value: unknown) => {
    if (done) return;
    done = true;
    let error: LambdaError | undefined;
    let payload: string | undefined;
    if (failed) error = toLambdaError(value);
    else {
      try {
        payload = JSON.stringify(value) ?? 'null';
      } catch (e) {
        error = {
          errorType: 'Runtime.JSONStringifyError',
          errorMessage: `Unable to stringify response body: ${e}`,
        };
      }
      if (payload && Buffer.byteLength(payload) > MAX_RESPONSE_BYTES) {
        payload = undefined;
        error = {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
        };
      }
    }
    if (error) logError('Invoke Error', error);
    const wrote = current;
    current = undefined;
    if (wrote?.stdout) rawStdout(`${MARK}E${requestId}\n`);
    if (wrote?.stderr) rawStderr(`${MARK}E${requestId}\n`);
    const logStreams = Number(Boolean(wrote?.stdout)) + Number(Boolean(wrote?.stderr));
    const maxMemoryUsedMB = Math.round(process.resourceUsage().maxRSS / 1024);
    send({ type: 'result', requestId, payload, error, maxMemoryUsedMB, logStreams });
  };
  const callback = (error?: unknown, result?: unknown) =>
    error === undefined || error === null ? finish(false, result) : finish(true, error);

  current = { requestId, stdout: false, stderr: false };
  env._X_AMZN_TRACE_ID = message.traceId;
  const context = {
    awsRequestId: requestId,
    invokedFunctionArn: message.invokedFunctionArn,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: message.clientContext === undefined ? undefined : JSON.parse(message.clientContext),
    identity: undefined,
    getRemainingTimeInMillis: () => deadlineMs - Date.now(),
    ...(legacy && {
      callbackWaitsForEmptyEventLoop: true,
      done: callback,
      succeed: (result: unknown) => finish(false, result),
      fail: (error: unknown) => finish(true, error),
    }),
  };
  try {
    const result = legacy
      ? handler(JSON.parse(message.event), context, callback)
      : handler(JSON.parse(message.event), context);
    // A callback-style handler answers through the callback, unless it returns a promise.
    if (legacy && handler.length >= 3 && typeof (result as PromiseLike<unknown>)?.then !== 'function') return;
    Promise.resolve(result).then(
      (value) => finish(false, value),
      (error) => finish(true, error),
    );
  } catch (error) {
    finish(true, error);
  }
}

// As in Lambda, an exception or rejection nobody handles ends the process (the parent then reports
// Runtime.ExitError and starts a fresh worker for the next invocation).
process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', toLambdaError(error));
  process.exit(129);
});
process.on('unhandledRejection', (reason) => {
  logError('Unhandled Promise Rejection', toLambdaError(reason));
  process.exit(128);
});
process.on('disconnect', () => process.exit(0));

loadHandler().then(
  (handler) => {
    process.on('message', (message: InvokeMessage) => invoke(handler, message));
    send({ type: 'ready' });
  },
  (error: unknown) => {
    const lambdaError = toLambdaError(error);
    logError('Init Error', lambdaError);
    send({ type: 'initError', error: lambdaError }, () => process.exit(1));
  },
);
