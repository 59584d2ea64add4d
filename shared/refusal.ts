/**
 * A use case's refusal: the request was understood and the answer is no (no such order, the cart
 * changed, the key was used for another body). Domains and use cases throw them without knowing
 * HTTP; `httpHandler` (`shared/middleware/http-handler.ts`) answers each {@link RefusalKind} with its
 * status and the API's error shape (`{"error": code, "message", "details"?}`).
 *
 * @example
 * throw new Refusal('not-found', 'NOT_FOUND', `Product ${productId} does not exist`);
 */

/** What kind of no: 404, 409, 412 and 422 over HTTP. */
export type RefusalKind = 'not-found' | 'conflict' | 'precondition-failed' | 'unprocessable';

/** A field an error is about, by its path in the request (`header.If-Match`, `items.productId`). */
export interface ErrorDetail {
  path: string;
  message: string;
}

/**
 * An error with a stable code for clients and the fields it is about, and a `kind` that says how it
 * is answered: a {@link RefusalKind} for a {@link Refusal}, the HTTP status for an `HttpError`.
 */
export class CodedError<Kind> extends Error {
  readonly kind: Kind;
  readonly code: string;
  readonly details?: ErrorDetail[];

  constructor(kind: Kind, code: string, message: string, details?: ErrorDetail[]) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

export class Refusal extends CodedError<RefusalKind> {
  override name = 'Refusal';
}
