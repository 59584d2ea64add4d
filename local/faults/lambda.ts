/**
 * AWS FIS's Lambda actions as local fault kinds, applied by the local Lambda runtime to a function's
 * invocations (on AWS the FIS Lambda extension, a layer on the function, applies them):
 *
 * - `lambda-invocation-error` = `aws:lambda:invocation-error`: the sampled invocations fail as a
 *   function error, so callers (Step Functions' Retry/Catch, the gateway, the event bus) see what
 *   they would see on AWS. With `preventExecution` the handler does not run; without, it runs (its
 *   side effects happen) and its answer is replaced by the error.
 * - `lambda-invocation-add-delay` = `aws:lambda:invocation-add-delay`: the sampled invocations start
 *   `startupDelayMilliseconds` late.
 *
 * Parameters as the FIS action reference names them: `invocationPercentage` (1-100, default 100),
 * `preventExecution`, `startupDelayMilliseconds` (0-900,000, default 1,000); FIS's `duration` is
 * `seconds` here, as for every local fault. `count` is a local addition: only the first `count`
 * sampled invocations are hit, then the fault heals itself (how a test asks for "fails once").
 *
 * @see https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#aws-lambda-actions
 * @see https://docs.aws.amazon.com/fis/latest/userguide/use-lambda-actions.html
 * @module
 */
import type { InvocationFault } from '../lambda/index.ts';
import { type FaultKind, flag, functionNamed, integer, seconds, text } from './types.ts';

/** The error a failed invocation reports (the local cloud's name; Step Functions' `States.ALL` matches it). */
export const INJECTED_ERROR_TYPE = 'FIS.InvocationError';

interface Common {
  function: string;
  seconds: number;
  invocationPercentage: number;
  count: number | undefined;
}

const COMMON_PARAMETERS = {
  function: 'function name or a unique part of it (required)',
  seconds: 'how long the fault lasts, 1-600 (default 60; FIS: duration)',
  invocationPercentage: 'share of invocations hit, 1-100 (default 100)',
  count: 'hit only this many invocations, then heal (optional, local addition)',
};

const common = (params: Record<string, unknown>): Common => ({
  function: text(params, 'function'),
  seconds: seconds(params, 'seconds', 60),
  invocationPercentage: integer(params, 'invocationPercentage', 100, { min: 1, max: 100 }) as number,
  count: integer(params, 'count', undefined, { min: 1, max: 100_000 }),
});

/**
 * Puts `fault` on the function's invocations for the fault's duration: each invocation is sampled
 * by `invocationPercentage`, and while `count` lasts.
 */
function onInvocations<P extends Common>(
  kind: string,
  apply: (params: P) => Omit<InvocationFault, 'sample'>,
): FaultKind<P>['inject'] {
  return async (targets, params) => {
    const name = functionNamed(targets, params.function);
    let left = params.count ?? Number.POSITIVE_INFINITY;
    let hit = 0;
    let exhaust = () => {};
    const exhausted = new Promise<void>((resolve) => {
      exhaust = resolve;
    });
    const remove = targets.functions?.addInvocationFault(name, {
      ...apply(params),
      sample: () => {
        if (left <= 0 || Math.random() * 100 >= params.invocationPercentage) return false;
        hit++;
        if (--left === 0) exhaust();
        return true;
      },
    });
    return {
      detail: {
        function: name,
        action: kind,
        get invocationsHit() {
          return hit;
        },
      },
      durationSeconds: params.seconds,
      heal: async () => remove?.(),
      exhausted,
    };
  };
}

const invocationError: FaultKind<Common & { preventExecution: boolean }> = {
  name: 'lambda-invocation-error',
  description:
    "aws:lambda:invocation-error: a function's invocations fail as a function error (Step Functions retries and catches them as on AWS)",
  parameters: {
    ...COMMON_PARAMETERS,
    preventExecution: 'true: fail without running the handler; false: run it, then fail (default false)',
  },
  parse: (params) => ({ ...common(params), preventExecution: flag(params, 'preventExecution', false) }),
  inject: onInvocations('aws:lambda:invocation-error', (params) => ({
    failure: {
      preventExecution: params.preventExecution,
      error: {
        errorType: INJECTED_ERROR_TYPE,
        errorMessage: `Invocation failed by fault injection (aws:lambda:invocation-error, preventExecution=${params.preventExecution})`,
      },
    },
  })),
};

const invocationAddDelay: FaultKind<Common & { startupDelayMilliseconds: number }> = {
  name: 'lambda-invocation-add-delay',
  description: "aws:lambda:invocation-add-delay: a function's invocations start late",
  parameters: {
    ...COMMON_PARAMETERS,
    startupDelayMilliseconds: 'delay before each hit invocation starts, 0-900000 (default 1000)',
  },
  parse: (params) => ({
    ...common(params),
    startupDelayMilliseconds: integer(params, 'startupDelayMilliseconds', 1_000, {
      min: 0,
      max: 900_000,
    }) as number,
  }),
  inject: onInvocations('aws:lambda:invocation-add-delay', (params) => ({
    delayMs: params.startupDelayMilliseconds,
  })),
};

export const LAMBDA_FAULTS = [invocationError, invocationAddDelay] as const;
