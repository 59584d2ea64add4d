import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { badRequest } from '../../shared/http/errors.ts';
import { json } from '../../shared/http/response.ts';
import { httpHandler } from '../../shared/middleware/http-handler.ts';

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
