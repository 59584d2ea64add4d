import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OrderCursor } from '../../shared/api/schemas.ts';
import { IfMatchVersion } from '../../shared/cart/domain.ts';
import { keysetCursor } from '../../shared/http/cursor.ts';
import { HttpError } from '../../shared/http/errors.ts';
import { consistencyToken, parseHeader, pathParameter } from '../../shared/http/request.ts';

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

/** The HttpError `fn` throws (failing when it does not throw one). */
function thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  return expect.unreachable('no HttpError thrown');
}

describe('pathParameter with a schema', () => {
  const Short = z.string().max(3, 'must be at most 3 characters');

  it('returns a value the schema accepts, and answers 400 naming path.<name> with its message otherwise', () => {
    expect(pathParameter(event({ productId: 'abc' }), 'productId', Short)).toBe('abc');
    expect(thrown(() => pathParameter(event({ productId: 'a%62cd' }), 'productId', Short))).toMatchObject({
      statusCode: 400,
      details: [{ path: 'path.productId', message: 'must be at most 3 characters' }],
    });
  });
});

describe('parseHeader', () => {
  const headers = (h: Record<string, string>) => ({ headers: h }) as Pick<APIGatewayProxyEvent, 'headers'>;

  it('reads If-Match case-insensitively: bare, quoted or absent', () => {
    expect(parseHeader(headers({ 'if-match': '3' }), 'If-Match', IfMatchVersion)).toBe(3);
    expect(parseHeader(headers({ 'If-Match': '"4"' }), 'If-Match', IfMatchVersion)).toBe(4);
    expect(parseHeader(headers({}), 'If-Match', IfMatchVersion)).toBeUndefined();
  });

  it('answers a malformed header with 400 naming header.<name>', () => {
    expect(
      thrown(() => parseHeader(headers({ 'if-match': 'W/"3"' }), 'If-Match', IfMatchVersion)),
    ).toMatchObject({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      details: [
        { path: 'header.If-Match', message: 'must be a non-negative integer cart version, e.g. 3 or "3"' },
      ],
    });
    expect(consistencyToken(headers({ 'X-Consistency-Token': '0/16B3748' }))).toBe('0/16B3748');
    expect(thrown(() => consistencyToken(headers({ 'x-consistency-token': 'latest' })))).toMatchObject({
      details: [{ path: 'header.x-consistency-token' }],
    });
  });
});

describe('keysetCursor', () => {
  const key = {
    createdAt: '2026-12-01T10:00:00.123456+00:00',
    orderId: '0b6f0c43-3a57-4c1e-9f7e-2f1f3d1c8a11',
  };

  it('round-trips the key of a page’s last item; no key is no cursor', () => {
    const cursor = OrderCursor.encode(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(cursor as string, 'base64url').toString())).toEqual({
      c: key.createdAt,
      o: key.orderId,
    });
    expect(OrderCursor.decode(cursor as string)).toEqual(key);
    expect(OrderCursor.encode(undefined)).toBeNull();
    expect(OrderCursor.decode(undefined)).toBeUndefined();
  });

  it('answers a cursor that is not one of ours with 400 naming query.cursor', () => {
    const forged = Buffer.from(JSON.stringify({ c: '2024-02-30T00:00:00Z', o: key.orderId })).toString(
      'base64url',
    );
    for (const cursor of [forged, 'not-json', '']) {
      expect(thrown(() => OrderCursor.decode(cursor))).toMatchObject({ details: [{ path: 'query.cursor' }] });
    }
    const numbers = keysetCursor(z.object({ n: z.int() }), {
      toKey: ({ n }) => n,
      toWire: (n: number) => ({ n }),
    });
    expect(numbers.decode(numbers.encode(7) as string)).toBe(7);
  });
});
