import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { HttpError } from '../http/errors.ts';
import { json } from '../http/response.ts';
import { jwtAuth } from './jwt-auth.ts';

/** Powertools utilities shared by every handler in the process; configured by POWERTOOLS_* variables. */
export const logger = new Logger();
export const metrics = new Metrics();
export const tracer = new Tracer();

export type HttpHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Turns thrown errors into the API's error shape. {@link HttpError}s keep their status and code;
 * anything else is logged with its stack and answered as a 500 that names only the request id.
 */
export function httpErrors(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      const { error } = request;
      if (error instanceof HttpError) {
        if (error.statusCode >= 500) logger.error('request failed', { error });
        request.response = json(error.statusCode, error.toBody());
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
 * The house middleware stack for API Gateway (REST, proxy) handlers: structured logs with the
 * Lambda context and cold-start flag, X-Ray tracing, EMF metrics, JSON errors, and bearer-token
 * verification where the stack asks the function to do it ({@link jwtAuth}).
 *
 * @example
 * export const handler = httpHandler(async (event) => json(200, { ok: true }));
 */
export function httpHandler(fn: HttpHandler) {
  return middy(fn)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(httpErrors())
    .use(jwtAuth());
}
