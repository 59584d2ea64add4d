/**
 * The secret that guards the local control API (`/_local/...`): 32 random bytes in
 * `<stateDir>/control-token` (mode 0600), created on the first start and read by the CLI
 * (`npm run local`, `npm run invoke`). A local admin JWT (`npm run -s token -- me --admin`) is accepted
 * too. Anyone who can read the state directory can control the local cloud; nobody else can.
 *
 * @example
 * const token = ensureControlToken('.local');
 * await fetch(`${servicesUrl}/_local/functions`, { headers: { authorization: `Bearer ${token}` } });
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, verifyToken } from '../../shared/auth/jwt.ts';
import type { SigningKey } from './signing-key.ts';

export const CONTROL_TOKEN_FILE = 'control-token';

/** The state directory's control token, created (0600) when missing. */
export function ensureControlToken(stateDir: string): string {
  const file = path.join(stateDir, CONTROL_TOKEN_FILE);
  const existing = readControlToken(stateDir);
  if (existing) return existing;
  mkdirSync(stateDir, { recursive: true });
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** The control token of a state directory, or undefined when there is none. */
export function readControlToken(stateDir: string): string | undefined {
  const file = path.join(stateDir, CONTROL_TOKEN_FILE);
  if (!existsSync(file)) return undefined;
  const token = readFileSync(file, 'utf8').trim();
  return token || undefined;
}

/**
 * Whether a control request carries the control token or a local JWT of an administrator, as
 * `Authorization: Bearer <token>`.
 */
export async function isControlAuthorized(
  req: IncomingMessage,
  controlToken: string,
  signingKey: SigningKey,
): Promise<boolean> {
  const header = String(req.headers.authorization ?? '');
  const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(controlToken);
  if (a.length === b.length && timingSafeEqual(a, b)) return true;
  try {
    const claims = await verifyToken(presented, signingKey.publicJwk, {
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
    });
    return (claims['cognito:groups'] ?? []).includes('admin');
  } catch {
    return false;
  }
}

/**
 * `postgres://user:secret@host/db` → `postgres://user:****@host/db`, wherever such a URL appears in
 * the value (also inside JSON, e.g. a per-region endpoint map); other text unchanged.
 */
export function redactSecrets(value: string): string {
  return value.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s"']*:)[^@\s"'/]*@/gi, '$1****@');
}
