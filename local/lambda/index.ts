/**
 * The embedded local cloud's Lambda service: runs the functions of the synthesized template as
 * Node.js worker processes with Lambda's semantics (isolation, init and warm reuse, timeouts, errors,
 * bounded concurrency, logs).
 *
 * @module
 */
export * from './runtime.ts';
