import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { SIGNING_ALG } from '../../shared/auth/jwt.ts';

export interface SigningKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

/**
 * The local token issuer's ES256 key pair, created once under `<keysDir>/jwt.json` and kept across
 * `--fresh` restarts so tokens printed by `npm run token` keep working. The public half is what the
 * JWT authorizer trusts (the `JwtPublicJwk` stack parameter).
 */
export async function ensureSigningKey(keysDir: string): Promise<SigningKey> {
  const file = path.join(keysDir, 'jwt.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SigningKey;
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const kid = `local-${Date.now().toString(36)}`;
  const key: SigningKey = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' },
  };
  mkdirSync(keysDir, { recursive: true });
  writeFileSync(file, JSON.stringify(key, null, 2), { mode: 0o600 });
  return key;
}
