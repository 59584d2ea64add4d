import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../shared/http/errors.ts';
import { pathParameter } from '../../shared/http/request.ts';

const event = (pathParameters: Record<string, string> | null) =>
  ({ pathParameters }) as Pick<APIGatewayProxyEvent, 'pathParameters'>;

describe('pathParameter', () => {
  it('decodes the parameter, which a REST API passes as the client encoded it', () => {
    expect(pathParameter(event({ productId: 'a%40b%20c' }), 'productId')).toBe('a@b c');
    expect(pathParameter(event({ productId: 'p-1' }), 'productId')).toBe('p-1');
  });

  it('answers 400 naming the parameter when its escape is malformed', () => {
    try {
      pathParameter(event({ productId: '%E0%A4%A' }), 'productId');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      expect(error).toMatchObject({ statusCode: 400, details: [{ path: 'path.productId' }] });
    }
  });

  it('treats a missing parameter as a wiring bug (500)', () => {
    expect(() => pathParameter(event(null), 'productId')).toThrow(/Path parameter productId is missing/);
  });
});
