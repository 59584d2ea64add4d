import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** Powertools utilities shared by all code in the process; configured by POWERTOOLS_* variables. */
export const logger = new Logger();

/**
 * Where the Metrics utility's own messages go: the structured log, except its warning that an
 * invocation added no metric, which is every read route's normal case (a line per request on the
 * hot path, to nobody's use); that one is a debug line. Powertools takes a custom logger for this
 * (powertools-lambda-typescript#2036, #2126).
 *
 * @example
 * new Metrics({ logger: metricsLogger(logger) });
 */
export function metricsLogger(log: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>) {
  return {
    debug: (message: string, ...rest: unknown[]) => log.debug(message, ...asExtra(rest)),
    info: (message: string, ...rest: unknown[]) => log.info(message, ...asExtra(rest)),
    warn: (message: string, ...rest: unknown[]) =>
      message.startsWith('No application metrics to publish')
        ? log.debug(message)
        : log.warn(message, ...asExtra(rest)),
    error: (message: string, ...rest: unknown[]) => log.error(message, ...asExtra(rest)),
  };
}

const asExtra = (rest: unknown[]) => rest.map((value) => ({ detail: value }));

export const metrics = new Metrics({ logger: metricsLogger(logger) });
export const tracer = new Tracer();
