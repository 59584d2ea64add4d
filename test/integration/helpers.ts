import * as path from 'node:path';
import { inject } from 'vitest';
import { readControlToken } from '../../local/cloud/control-token.ts';
import { ensureSigningKey } from '../../local/cloud/signing-key.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../../shared/auth/jwt.ts';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** Calls the local cloud's API Gateway. */
export async function api<T = Record<string, unknown>>(
  route: string,
  options: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(`${inject('apiUrl')}${route}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: response.status, headers: response.headers, body: body as T, text };
}

/** A token signed with the running cloud's key, as `npm run token` prints. */
export async function tokenFor(userId: string, options: { admin?: boolean; expiresIn?: string } = {}) {
  const key = await ensureSigningKey(path.join(inject('stateDir'), 'keys'));
  return signToken(
    key.privateJwk,
    { sub: userId, groups: options.admin ? ['admin'] : [] },
    { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, expiresIn: options.expiresIn },
  );
}

/** Calls the local control API (`/_local/...`) with the control token of the test cloud. */
export async function control<T = unknown>(route: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${inject('servicesUrl')}/_local${route}`, {
    ...init,
    headers: {
      ...(init?.headers as Record<string, string>),
      authorization: `Bearer ${readControlToken(inject('stateDir'))}`,
    },
  });
  if (!response.ok) throw new Error(`${route}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * Retries `check` until it stops throwing or the deadline passes (for effects that travel through
 * events): no fixed sleeps, and the last failure is what the test reports.
 */
export async function eventually<T>(
  check: () => Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** A unique id for test data, so tests never see each other's products, users or orders. */
export const uniqueId = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** Creates a product through the catalog API (as an admin) and returns it. */
export async function createProduct(
  overrides: Partial<{ name: string; category: string; priceCents: number; currency: string }> = {},
): Promise<{ productId: string; priceCents: number; category: string }> {
  const admin = await tokenFor('catalog-admin', { admin: true });
  const response = await api<{ productId: string; priceCents: number; category: string }>('/products', {
    method: 'POST',
    token: admin,
    body: { name: uniqueId('Product'), category: 'test', priceCents: 1000, currency: 'EUR', ...overrides },
  });
  if (response.status !== 201) throw new Error(`create product: ${response.status} ${response.text}`);
  return response.body;
}
