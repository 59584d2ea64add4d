import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** Powertools utilities shared by all code in the process; configured by POWERTOOLS_* variables. */
export const logger = new Logger();
export const metrics = new Metrics();
export const tracer = new Tracer();
