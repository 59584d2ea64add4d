import { createHash } from 'node:crypto';

/** A short id, stable for the same seed (physical ids of resources that have no name of their own). */
export function shortId(seed: string, length = 10): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

/** The ARN of the function a Lambda (proxy or authorizer) integration URI invokes. */
export function lambdaFromUri(uri: unknown): string | undefined {
  return /functions\/(arn:[^/]+)\/invocations$/.exec(String(uri ?? ''))?.[1];
}
