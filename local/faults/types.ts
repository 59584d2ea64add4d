import type { InvocationFault } from '../lambda/index.ts';

/**
 * The fault-control surface of the local cloud: what a kind of fault is, what it can act on, and
 * what an injected fault looks like. Kinds live in a registry ({@link FaultController.register}), so
 * partitions, replica lag or a promotion are new kinds, not a new mechanism.
 *
 * @module
 */

/** What faults act on: the local cloud's processes and stores. Every member is optional. */
export interface FaultTargets {
  /** The embedded Postgres (absent with `DATABASE_URL`: Postgres faults are then refused). */
  postgres?: { readonly pid?: number | undefined; restart?(): Promise<void>; readonly url: string };
  dynamodb?: { readonly pid?: number | undefined };
  /** The deployed functions' worker processes. */
  functions?: {
    /** Names of the deployed functions. */
    names(): string[];
    /** Live workers of one function: process id and whether it runs an invocation. */
    workers(name: string): { pid: number; busy: boolean }[];
    /** Applies a fault to the function's invocations until the returned function is called. */
    addInvocationFault(name: string, fault: InvocationFault): () => void;
  };
}

/** What an injection did, and how to undo it. */
export interface Injected {
  /** What was acted on (pids, function, row...), shown in the fault list and the log. */
  detail: Record<string, unknown>;
  /** Healed automatically after this long; absent: the fault is over once injected (a kill). */
  durationSeconds?: number;
  /** Undoes the fault (SIGCONT, restart, rollback). Called once. */
  heal(): Promise<void>;
  /** Resolves when the fault has done all it was asked to (a count used up): it is healed then. */
  exhausted?: Promise<void>;
}

/**
 * A kind of fault.
 *
 * @example
 * const freezeS3: FaultKind<{ seconds: number }> = {
 *   name: 'freeze-s3',
 *   description: 'SIGSTOP s3rver for `seconds`',
 *   parse: (p) => ({ seconds: seconds(p, 'seconds', 10) }),
 *   inject: async (targets, { seconds }) => ({ detail: {}, durationSeconds: seconds, heal: async () => {} }),
 * };
 */
export interface FaultKind<P = Record<string, unknown>> {
  readonly name: string;
  /** One line for `npm run local -- faults` and `GET /_local/faults`. */
  readonly description: string;
  /** The parameters this kind accepts, `name: meaning`. */
  readonly parameters: Record<string, string>;
  /** Validates the request's parameters; throws a {@link FaultError} naming the field. */
  parse(params: Record<string, unknown>): P;
  inject(targets: FaultTargets, params: P): Promise<Injected>;
}

/** A fault as listed by `GET /_local/faults`. */
export interface FaultRecord {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  detail: Record<string, unknown>;
  status: 'active' | 'healed' | 'heal-failed';
  injectedAt: string;
  /** When it will be (or was) healed automatically. */
  healsAt?: string;
  healedAt?: string;
  healedBy?: 'duration' | 'request' | 'stop' | 'instant' | 'exhausted';
  error?: string;
}

/** A refused fault request: `status` 400 (bad parameter, naming `field`), 404 or 409. */
export class FaultError extends Error {
  readonly status: number;
  readonly field: string | undefined;

  constructor(status: number, message: string, field?: string) {
    super(message);
    this.name = 'FaultError';
    this.status = status;
    this.field = field;
  }
}

/** A whole number of seconds in `[min, max]` from `params[field]`, or `fallback` when absent. */
export function seconds(
  params: Record<string, unknown>,
  field: string,
  fallback: number,
  { min = 1, max = 600 } = {},
): number {
  const value = params[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FaultError(400, `${field} must be a whole number of seconds from ${min} to ${max}`, field);
  }
  return value;
}

/** A non-empty string (at most 256 characters) from `params[field]`. */
export function text(params: Record<string, unknown>, field: string): string {
  const value = params[field];
  if (typeof value !== 'string' || value === '' || value.length > 256) {
    throw new FaultError(400, `${field} is required: a string of 1 to 256 characters`, field);
  }
  return value;
}

/** A whole number in `[min, max]` from `params[field]`, or `fallback` when absent. */
export function integer(
  params: Record<string, unknown>,
  field: string,
  fallback: number | undefined,
  { min, max }: { min: number; max: number },
): number | undefined {
  const value = params[field] ?? fallback;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FaultError(400, `${field} must be a whole number from ${min} to ${max}`, field);
  }
  return value;
}

/** `true` or `false` from `params[field]`, or `fallback` when absent. */
export function flag(params: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const value = params[field] ?? fallback;
  if (typeof value !== 'boolean') throw new FaultError(400, `${field} must be true or false`, field);
  return value;
}

/**
 * The deployed function `wanted` names: its exact name, or the one name containing it
 * (case-insensitive), e.g. `EtlTransform` for `Shop-local-Etl-EtlTransformA1B2C3`.
 */
export function functionNamed(targets: FaultTargets, wanted: string, field = 'function'): string {
  const names = targets.functions?.names() ?? [];
  if (names.includes(wanted)) return wanted;
  const matches = names.filter((n) => n.toLowerCase().includes(wanted.toLowerCase()));
  if (matches.length === 1) return matches[0] as string;
  throw new FaultError(
    matches.length ? 400 : 404,
    `${matches.length ? 'Ambiguous' : 'Unknown'} function "${wanted}"${matches.length ? `: ${matches.join(', ')}` : ''}`,
    field,
  );
}
