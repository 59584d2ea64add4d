/**
 * `npm run token -- <userId> [--admin] [--email addr] [--expires 12h]`: prints a bearer token the
 * local cloud (and a LocalStack deploy given the same public key) accepts. Same claim names as a
 * Cognito ID token: `sub`, `cognito:groups`, `email`.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../../shared/auth/jwt.ts';
import { ensureSigningKey } from '../cloud/signing-key.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    admin: { type: 'boolean', default: false },
    email: { type: 'string' },
    expires: { type: 'string', default: '12h' },
    'state-dir': { type: 'string' },
  },
});

const [userId] = positionals;
if (!userId || !/^[\w@.+-]{1,128}$/.test(userId)) {
  console.error(
    'Usage: npm run token -- <userId> [--admin] [--email addr]   (userId: 1-128 of letters, digits, _ @ . + -)',
  );
  process.exit(2);
}
const key = await ensureSigningKey(
  path.join(values['state-dir'] ?? path.join(process.cwd(), '.local'), 'keys'),
);
const token = await signToken(
  key.privateJwk,
  { sub: userId, groups: values.admin ? ['admin'] : [], ...(values.email ? { email: values.email } : {}) },
  { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, expiresIn: values.expires },
);
process.stdout.write(`${token}\n`);
