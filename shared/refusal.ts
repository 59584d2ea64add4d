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

/** The field a refusal is about, by its path in the request (`header.If-Match`, `items.productId`). */
export interface RefusalDetail {
  path: string;
  message: string;
}

export class Refusal extends Error {
  override name = 'Refusal';
  readonly kind: RefusalKind;
  readonly code: string;
  readonly details?: RefusalDetail[];

  constructor(kind: RefusalKind, code: string, message: string, details?: RefusalDetail[]) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}
