/** A thin client for the shop API: JSON in and out, the API's error shape surfaced as {@link ApiError}. */
export interface ErrorDetail {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];

  constructor(status: number, code: string, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Per-request deadline (the API's own is below API Gateway's 29 s). @default 30000 */
  timeoutMs?: number;
}

export class Api {
  readonly baseUrl: string;
  private readonly token: () => string | undefined;
  private readonly onUnauthorized: () => void;

  constructor(baseUrl: string, token: () => string | undefined, onUnauthorized: () => void = () => {}) {
    this.baseUrl = baseUrl;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? 'timed out' : 'could not be reached';
      throw new ApiError(0, 'NETWORK', `The API ${reason} (${method} ${path})`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!response.ok) {
      const error = (body ?? {}) as {
        error?: string;
        message?: string;
        Message?: string;
        details?: ErrorDetail[];
      };
      if (response.status === 401) this.onUnauthorized();
      throw new ApiError(
        response.status,
        error.error ?? String(response.status),
        error.message ?? error.Message ?? `${method} ${path} answered ${response.status}`,
        error.details ?? [],
      );
    }
    return { status: response.status, body: body as T, headers: response.headers };
  }

  get<T>(path: string, options?: RequestOptions) {
    return this.request<T>('GET', path, options);
  }
}

/** `{a: 1, b: undefined}` → `?a=1`. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}
