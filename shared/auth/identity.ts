import type { APIGatewayProxyEvent } from 'aws-lambda';
import { forbidden, unauthorized } from '../http/errors.ts';

export interface Identity {
  /** The token's `sub`: the user id everywhere in the shop. */
  userId: string;
  groups: string[];
  isAdmin: boolean;
}

/**
 * Reads the caller from what the API's authorizer put in `requestContext.authorizer`:
 * a Cognito user-pool authorizer nests the token's claims under `claims`; the JWT Lambda authorizer
 * used by the local cloud and LocalStack returns the same claim names at the top level (API Gateway
 * only passes flat string values from a Lambda authorizer).
 */
export function identityFrom(event: Pick<APIGatewayProxyEvent, 'requestContext'>): Identity {
  const authorizer = (event.requestContext?.authorizer ?? {}) as Record<string, unknown>;
  const claims = (authorizer.claims ?? authorizer) as Record<string, unknown>;
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') throw unauthorized();
  const groups = parseGroups(claims['cognito:groups']);
  return { userId: sub, groups, isAdmin: groups.includes('admin') };
}

/** Like {@link identityFrom}, but answers 403 unless the caller is in the `admin` group. */
export function requireAdmin(event: Pick<APIGatewayProxyEvent, 'requestContext'>): Identity {
  const identity = identityFrom(event);
  if (!identity.isAdmin) throw forbidden();
  return identity;
}

/** `cognito:groups` arrives as an array, `"[a b]"`, `"a,b"` or `"a"` depending on who passed it on. */
export function parseGroups(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value.trim() === '') return [];
  return value
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .filter(Boolean);
}
