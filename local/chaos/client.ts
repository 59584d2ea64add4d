/**
 * The harness' HTTP client: every call is timed and recorded, network failures are answers with
 * status 0, and nothing waits longer than the client's own deadline (well above API Gateway's 29 s,
 * so a request the gateway failed to cut off is seen as too long, not as a hang).
 *
 * @module
 */
import * as path from 'node:path';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../../shared/auth/jwt.ts';
import { ensureSigningKey } from '../cloud/signing-key.ts';

export interface Sample {
  /** `METHOD /route/{template}` for grouping. */
  route: string;
  status: number;
  ms: number;
  /** Part of an experiment's deliberate bad input (the fuzz): a 5xx there is a bug. */
  badInput?: boolean;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  ms: number;
}

/** Client-side deadline: a response later than this is recorded as status 0 after this long. */
export const CLIENT_TIMEOUT_MS = 40_000;

export class ShopClient {
  readonly samples: Sample[] = [];
  readonly #apiUrl: () => string;

  constructor(apiUrl: () => string) {
    this.#apiUrl = apiUrl;
  }

  async call<T = Record<string, unknown>>(
    method: string,
    url: string,
    options: {
      route?: string;
      token?: string;
      body?: unknown;
      /** Sent as is (for malformed bodies). */
      rawBody?: string;
      headers?: Record<string, string>;
      badInput?: boolean;
    } = {},
  ): Promise<Answer<T>> {
    const started = performance.now();
    let status = 0;
    let text = '';
    try {
      const response = await fetch(`${this.#apiUrl()}${url}`, {
        method,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.body !== undefined || options.rawBody !== undefined
            ? { 'content-type': 'application/json' }
            : {}),
          ...options.headers,
        },
        body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      text = (error as Error).message;
    }
    const ms = performance.now() - started;
    this.samples.push({
      route: options.route ?? `${method} ${url.split('?')[0]}`,
      status,
      ms,
      ...(options.badInput ? { badInput: true } : {}),
    });
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status, body: body as T, text, ms };
  }
}

/** Signs tokens with the local cloud's key, as `npm run token` does. */
export async function tokenSigner(stateDir: string) {
  const key = await ensureSigningKey(path.join(stateDir, 'keys'));
  return (sub: string, admin = false) =>
    signToken(
      key.privateJwk,
      { sub, groups: admin ? ['admin'] : [] },
      { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, expiresIn: '2h' },
    );
}

/**
 * Retries `attempt` while the answer is retryable (no answer, 429, 5xx) until `deadlineMs` has passed
 * or `abandoned()` says the experiment gave up.
 */
export async function untilAnswered<T>(
  attempt: () => Promise<Answer<T>>,
  deadlineMs = 90_000,
  abandoned: () => boolean = () => false,
): Promise<Answer<T>> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const answer = await attempt();
    const retryable = answer.status === 0 || answer.status === 429 || answer.status >= 500;
    if (!retryable || Date.now() > deadline || abandoned()) return answer;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
