import * as path from 'node:path';
import { inject } from 'vitest';
import { readControlToken } from '../../local/cloud/control-token.ts';
import { ensureSigningKey } from '../../local/cloud/signing-key.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../../shared/auth/jwt.ts';
import { type ApiRequest, callApi } from '../support/http.ts';

export type { ApiResponse } from '../support/http.ts';

/** Calls the local cloud's API Gateway. */
export const api = <T = Record<string, unknown>>(route: string, options: ApiRequest = {}) =>
  callApi<T>(inject('apiUrl'), route, options);

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

export { eventually } from '../support/poll.ts';

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
