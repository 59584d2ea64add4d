import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken, verifyToken } from '../../shared/auth/jwt.ts';

const options = { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE };

describe('local JWTs', async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);

  it('round-trips a Cognito-shaped ID token', async () => {
    const token = await signToken(privateJwk, { sub: 'user-1', groups: ['admin'] }, options);
    const claims = await verifyToken(token, publicJwk, options);
    expect(claims).toMatchObject({
      sub: 'user-1',
      'cognito:groups': ['admin'],
      token_use: 'id',
      iss: LOCAL_ISSUER,
    });
  });

  it('rejects another key, another audience and an expired token', async () => {
    const other = await generateKeyPair('ES256', { extractable: true });
    const foreign = await signToken(await exportJWK(other.privateKey), { sub: 'x' }, options);
    await expect(verifyToken(foreign, publicJwk, options)).rejects.toThrow(/signature/);
    const wrongAudience = await signToken(privateJwk, { sub: 'x' }, { ...options, audience: 'other' });
    await expect(verifyToken(wrongAudience, publicJwk, options)).rejects.toThrow(/aud/);
    const expired = await signToken(privateJwk, { sub: 'x' }, { ...options, expiresIn: '-1m' });
    await expect(verifyToken(expired, publicJwk, options)).rejects.toThrow(/exp/);
  });
});
