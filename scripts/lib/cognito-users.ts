import { randomBytes } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminInitiateAuthCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';

export interface CognitoTestUsers {
  /** An ID token per user, which the API's Cognito authorizer accepts. */
  tokens: Record<string, string>;
  /** Deletes every user created. */
  remove(): Promise<void>;
}

/**
 * Creates throw-away users in the shop's user pool (`e2e-<runId>-<name>@example.com`, a random
 * password, no invitation mail), puts `admins` in the `admin` group and signs each in through the
 * E2eClient app client (ADMIN_USER_PASSWORD_AUTH, which needs the caller's IAM credentials). Users
 * created before a failure are deleted before it is rethrown.
 *
 * @example
 * const users = await cognitoTestUsers({ userPoolId, clientId, runId: 'r1', users: ['admin', 'alice'], admins: ['admin'] });
 * try { await fetch(url, { headers: { authorization: `Bearer ${users.tokens.alice}` } }); } finally { await users.remove(); }
 */
export async function cognitoTestUsers(options: {
  userPoolId: string;
  clientId: string;
  runId: string;
  users: readonly string[];
  admins: readonly string[];
  client?: CognitoIdentityProviderClient;
}): Promise<CognitoTestUsers> {
  const cognito = options.client ?? new CognitoIdentityProviderClient({});
  const { userPoolId: UserPoolId, clientId: ClientId } = options;
  const created: string[] = [];
  const remove = async () => {
    for (const Username of created.splice(0)) {
      await cognito.send(new AdminDeleteUserCommand({ UserPoolId, Username }));
    }
  };
  try {
    const tokens: Record<string, string> = {};
    for (const user of options.users) {
      const Username = `e2e-${options.runId}-${user}@example.com`;
      // Meets the pool's policy: 12+ characters with upper and lower case, digits and symbols.
      const Password = `Aa1!${randomBytes(18).toString('base64url')}`;
      await cognito.send(
        new AdminCreateUserCommand({
          UserPoolId,
          Username,
          MessageAction: 'SUPPRESS',
          UserAttributes: [
            { Name: 'email', Value: Username },
            { Name: 'email_verified', Value: 'true' },
          ],
        }),
      );
      created.push(Username);
      await cognito.send(
        new AdminSetUserPasswordCommand({ UserPoolId, Username, Password, Permanent: true }),
      );
      if (options.admins.includes(user)) {
        await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId, Username, GroupName: 'admin' }));
      }
      const auth = await cognito.send(
        new AdminInitiateAuthCommand({
          UserPoolId,
          ClientId,
          AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
          AuthParameters: { USERNAME: Username, PASSWORD: Password },
        }),
      );
      const token = auth.AuthenticationResult?.IdToken;
      if (!token) throw new Error(`Cognito answered ${auth.ChallengeName ?? 'no token'} for ${Username}`);
      tokens[user] = token;
    }
    return { tokens, remove };
  } catch (error) {
    await remove().catch(() => {});
    throw error;
  }
}
