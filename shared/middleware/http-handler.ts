import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { HandlerId, RouteKey } from '../api/routes.ts';
import { requestBudgetMs } from '../budget.ts';
import { HttpError, httpErrorOf } from '../http/errors.ts';
import { json } from '../http/response.ts';
import { type RouteHandler, routes } from '../http/router.ts';
import { logger, metrics, tracer } from '../observability.ts';
import { dependencyFailure } from '../platform/adapters/dependencies.ts';
import { jwtAuth } from './jwt-auth.ts';

export { logger, metrics, tracer };

export type HttpHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** Seconds a client should wait before retrying after a 503. */
const RETRY_AFTER_SECONDS = '1';

/**
 * Turns thrown errors into the API's error shape. {@link HttpError}s keep their status and code, a
 * use case's `Refusal` (`shared/refusal.ts`) gets its kind's status (404, 409, 412, 422); a
 * dependency that is down, frozen, overloaded or holding a lock too long (see
 * `shared/platform/adapters/dependencies.ts`) is a 503 `DEPENDENCY_UNAVAILABLE` naming it, with `Retry-After`;
 * anything else is logged with its stack and answered as a 500 that names only the request id.
 */
export function httpErrors(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      const { error } = request;
      const answer = httpErrorOf(error);
      if (answer) {
        if (answer.statusCode >= 500) logger.error('request failed', { error: answer });
        request.response = json(
          answer.statusCode,
          answer.toBody(),
          answer.statusCode === 503 ? { 'retry-after': RETRY_AFTER_SECONDS } : {},
        );
        return;
      }
      const failure = dependencyFailure(error);
      if (failure) {
        logger.warn('dependency unavailable', { dependency: failure.dependency, error: error as Error });
        request.response = json(
          503,
          { error: 'DEPENDENCY_UNAVAILABLE', dependency: failure.dependency, message: failure.message },
          { 'retry-after': RETRY_AFTER_SECONDS },
        );
        return;
      }
      logger.error('unhandled error', { error: error as Error });
      request.response = json(500, {
        error: 'INTERNAL',
        message: `Internal error; quote request id ${request.context.awsRequestId}`,
      });
    },
  };
}

/**
 * Answers 503 `DEADLINE_EXCEEDED` when the handler has not answered within the request budget
 * (`shared/budget.ts`: min(REQUEST_BUDGET_MS, remaining time − margin)), whatever it waits for, so
 * no request outlives its budget even when every dependency timeout adds up. Whatever the handler
 * was doing is abandoned; a write it still commits is found again by a retry with the same
 * Idempotency-Key.
 */
export function withDeadline(fn: HttpHandler): HttpHandler {
  return async (event, context) => {
    const budgetMs = requestBudgetMs(context.getRemainingTimeInMillis?.());
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HttpError(
              503,
              'DEADLINE_EXCEEDED',
              `The request did not finish within its ${budgetMs} ms budget`,
            ),
          ),
        budgetMs,
      );
    });
    try {
      return await Promise.race([fn(event, context), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * The house middleware stack for API Gateway (REST, proxy) handlers: structured logs with the
 * Lambda context and cold-start flag, X-Ray tracing, EMF metrics, a deadline, JSON errors, and
 * bearer-token verification where the stack asks the function to do it ({@link jwtAuth}).
 *
 * @example
 * export const handler = httpHandler(async (event) => json(200, { ok: true }));
 */
export function httpHandler(fn: HttpHandler) {
  return middy(withDeadline(fn))
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(httpErrors())
    .use(jwtAuth());
}

/**
 * An API function: {@link httpHandler} around the routes the manifest gives `handlerId`
 * (`shared/http/router.ts`), one small function a route.
 *
 * @example
 * export const handler = httpRoutes('cart', { 'GET /cart': view, 'DELETE /cart': empty, … });
 */
export const httpRoutes = <H extends HandlerId>(
  handlerId: H,
  table: NoInfer<Record<RouteKey<H>, RouteHandler>>,
) => httpHandler(routes(handlerId, table));
