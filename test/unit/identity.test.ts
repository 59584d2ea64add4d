import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { identityFrom, parseGroups, requireAdmin } from '../../shared/auth/identity.ts';
import { HttpError } from '../../shared/http/errors.ts';

const event = (authorizer: unknown) =>
  ({ requestContext: { authorizer } }) as unknown as Pick<APIGatewayProxyEvent, 'requestContext'>;

describe('identityFrom', () => {
  it('reads Cognito claims nested under claims', () => {
    expect(identityFrom(event({ claims: { sub: 'u1', 'cognito:groups': 'admin' } }))).toEqual({
      userId: 'u1',
      groups: ['admin'],
      isAdmin: true,
    });
  });

  it('reads the flat context of the JWT Lambda authorizer', () => {
    expect(identityFrom(event({ sub: 'u2', 'cognito:groups': 'staff,admin', principalId: 'u2' }))).toEqual({
      userId: 'u2',
      groups: ['staff', 'admin'],
      isAdmin: true,
    });
  });

  it('answers 401 without a subject and 403 for a non-admin on admin routes', () => {
    expect(() => identityFrom(event(undefined))).toThrow(HttpError);
    try {
      identityFrom(event({ claims: {} }));
    } catch (error) {
      expect((error as HttpError).statusCode).toBe(401);
    }
    try {
      requireAdmin(event({ sub: 'u3', 'cognito:groups': '' }));
      expect.unreachable();
    } catch (error) {
      expect((error as HttpError).statusCode).toBe(403);
      expect((error as HttpError).toBody()).toEqual({
        error: 'FORBIDDEN',
        message: 'This action needs the admin group',
      });
    }
  });
});

describe('parseGroups', () => {
  it.each([
    [
      ['a', 'b'],
      ['a', 'b'],
    ],
    ['[a b]', ['a', 'b']],
    ['a,b', ['a', 'b']],
    ['admin', ['admin']],
    ['', []],
    [undefined, []],
  ])('%j → %j', (input, expected) => {
    expect(parseGroups(input)).toEqual(expected);
  });
});
