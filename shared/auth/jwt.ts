import { importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';

/** Tokens issued for the local cloud and LocalStack look like Cognito ID tokens. */
export interface ShopClaims extends JWTPayload {
  sub: string;
  'cognito:groups'?: string[];
  token_use?: 'id';
}

export const LOCAL_ISSUER = 'https://shop.local/issuer';
export const LOCAL_AUDIENCE = 'shop';
export const SIGNING_ALG = 'ES256';

/**
 * Verifies an ES256 JWT against one public JWK, its issuer and audience; throws when any fails.
 *
 * @example
 * const claims = await verifyToken(token, JSON.parse(process.env.JWT_PUBLIC_JWK!), { issuer, audience });
 */
export async function verifyToken(
  token: string,
  publicJwk: JWK,
  options: { issuer: string; audience: string },
): Promise<ShopClaims> {
  const key = await importJWK(publicJwk, SIGNING_ALG);
  const { payload } = await jwtVerify(token, key, { ...options, algorithms: [SIGNING_ALG] });
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('token has no sub');
  return payload as ShopClaims;
}

/** Signs a Cognito-shaped ID token (used by `npm run token` and tests). */
export async function signToken(
  privateJwk: JWK,
  claims: { sub: string; groups?: string[]; email?: string },
  options: { issuer: string; audience: string; expiresIn?: string },
): Promise<string> {
  const key = await importJWK(privateJwk, SIGNING_ALG);
  return new SignJWT({
    'cognito:groups': claims.groups ?? [],
    ...(claims.email ? { email: claims.email } : {}),
    token_use: 'id',
  })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: privateJwk.kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(key);
}
