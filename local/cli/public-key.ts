/** Prints the local token issuer's public JWK (JSON), e.g. for the JwtPublicJwk stack parameter. */
import * as path from 'node:path';
import { ensureSigningKey } from '../cloud/signing-key.ts';

const key = await ensureSigningKey(
  path.join(process.env.SHOP_STATE_DIR ?? path.join(process.cwd(), '.local'), 'keys'),
);
process.stdout.write(`${JSON.stringify(key.publicJwk)}\n`);
