import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import type { JWK } from 'jose';
import { verifyToken } from '../../shared/auth/jwt.ts';
import { requireEnv } from '../../shared/config.ts';
import { logger } from '../../shared/middleware/http-handler.ts';

const publicJwk = JSON.parse(requireEnv('JWT_PUBLIC_JWK')) as JWK;
const issuer = requireEnv('JWT_ISSUER');
const audience = requireEnv('JWT_AUDIENCE');

/**
 * TOKEN authorizer for the targets without Cognito (local cloud, LocalStack). It verifies the bearer
 * JWT and passes the claims the handlers read (`sub`, `cognito:groups`, `email`) as the authorizer
 * context. Throwing `Unauthorized` makes API Gateway answer 401.
 */
export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const token = /^Bearer\s+(.+)$/i.exec(event.authorizationToken ?? '')?.[1];
  if (!token) throw new Error('Unauthorized');
  let claims: Awaited<ReturnType<typeof verifyToken>>;
  try {
    claims = await verifyToken(token, publicJwk, { issuer, audience });
  } catch (error) {
    logger.info('token rejected', { reason: (error as Error).message });
    throw new Error('Unauthorized');
  }
  // Allow every method of this API stage, so a cached decision serves the caller's other routes too.
  const [arnPrefix, stage] = event.methodArn.split('/');
  return {
    principalId: claims.sub,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${stage}/*` }],
    },
    context: {
      sub: claims.sub,
      'cognito:groups': (claims['cognito:groups'] ?? []).join(','),
      ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
    },
  };
}
