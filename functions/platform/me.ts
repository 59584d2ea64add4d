import { identityFrom } from '../../shared/auth/identity.ts';
import { json } from '../../shared/http/response.ts';
import { routes } from '../../shared/http/router.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';

/** `GET /me`: who the API thinks the caller is (a quick check that a token works). */
export const handler = httpHandler(
  routes('me', {
    'GET /me': async (event) => {
      const { userId, groups, isAdmin } = identityFrom(event);
      return json(200, { userId, groups, isAdmin });
    },
  }),
);
