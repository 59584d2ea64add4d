import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { badRequest } from '../../shared/http/errors.ts';
import { json } from '../../shared/http/response.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';
import { Refusal, type RefusalKind } from '../../shared/refusal.ts';

const context = {
  awsRequestId: 'req-1',
  functionName: 'f',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;
const event = {} as APIGatewayProxyEvent;

describe('httpHandler', () => {
  it('passes a successful response through', async () => {
    const handler = httpHandler(async () => json(200, { ok: true }));
    const response = await handler(event, context);
    expect(response).toMatchObject({ statusCode: 200, body: '{"ok":true}' });
    expect(response.headers?.['content-type']).toBe('application/json');
  });

  it('turns an HttpError into its status and the error shape, naming the field', async () => {
    const handler = httpHandler(async () => {
      throw badRequest('Invalid body', [{ path: 'body.priceCents', message: 'must be an integer' }]);
    });
    const response = await handler(event, context);
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      error: 'VALIDATION_FAILED',
      message: 'Invalid body',
      details: [{ path: 'body.priceCents', message: 'must be an integer' }],
    });
  });

  it.each([
    ['not-found', 404],
    ['conflict', 409],
    ['precondition-failed', 412],
    ['unprocessable', 422],
  ] as const)(
    'answers a use case’s %s refusal with %i, its code and the field it names',
    async (kind, status) => {
      const handler = httpHandler(async () => {
        throw new Refusal(kind as RefusalKind, 'SOME_CODE', 'No.', [
          { path: 'items.productId', message: 'p-1' },
        ]);
      });
      const response = await handler(event, context);
      expect(response.statusCode).toBe(status);
      expect(JSON.parse(response.body)).toEqual({
        error: 'SOME_CODE',
        message: 'No.',
        details: [{ path: 'items.productId', message: 'p-1' }],
      });
    },
  );

  it('answers an unexpected error with a 500 that leaks no stack', async () => {
    const handler = httpHandler(async () => {
      throw new TypeError('secret internals at /var/task/index.mjs:1');
    });
    const response = await handler(event, context);
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('/var/task');
    expect(JSON.parse(response.body)).toEqual({
      error: 'INTERNAL',
      message: 'Internal error; quote request id req-1',
    });
  });
});
