import { CodedError, type ErrorDetail, Refusal, type RefusalKind } from '../refusal.ts';

/** One problem with the request, named by its path (`body.priceCents`, `query.limit`, `header.Idempotency-Key`). */
export type { ErrorDetail };

/**
 * An error that becomes an HTTP response: `{"error": code, "message": message, "details"?: [...]}`.
 *
 * @example
 * throw new HttpError(404, 'NOT_FOUND', `Product ${id} does not exist`);
 */
export class HttpError extends CodedError<number> {
  override name = 'HttpError';
  /** The HTTP status (the error's kind). */
  readonly statusCode = this.kind;

  toBody(): Record<string, unknown> {
    return {
      error: this.code,
      message: this.message,
      ...(this.details?.length ? { details: this.details } : {}),
    };
  }
}

export const badRequest = (message: string, details?: ErrorDetail[]) =>
  new HttpError(400, 'VALIDATION_FAILED', message, details);
export const unauthorized = (message = 'A valid bearer token is required') =>
  new HttpError(401, 'UNAUTHORIZED', message);
export const forbidden = (message = 'This action needs the admin group') =>
  new HttpError(403, 'FORBIDDEN', message);
export const notFound = (message: string) => new HttpError(404, 'NOT_FOUND', message);

/** The status each kind of use-case {@link Refusal} is answered with. */
const REFUSAL_STATUS: Record<RefusalKind, number> = {
  'not-found': 404,
  conflict: 409,
  'precondition-failed': 412,
  unprocessable: 422,
};

/**
 * The HTTP answer to an error: an {@link HttpError} as it is, a {@link Refusal} as its kind's status
 * with its code and details; anything else is not an answer (undefined).
 */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof Refusal) {
    return new HttpError(REFUSAL_STATUS[error.kind], error.code, error.message, error.details);
  }
  return undefined;
}
