import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { openApiDocument } from '../../shared/api/openapi.ts';
import { ROUTES, routeKey } from '../../shared/api/routes.ts';
import { api, control, tokenFor } from './helpers.ts';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface FunctionInfo {
  name: string;
  arn: string;
  environment: Record<string, string>;
}

describe('the local cloud deploys the synthesized template', () => {
  it('serves GET /health through the gateway with all three dependencies up', async () => {
    const response = await api<{ status: string; checks: Record<string, { ok: boolean }> }>('/health');
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
    expect(Object.keys(response.body.checks).sort()).toEqual(['dynamodb', 'postgres', 's3']);
    for (const check of Object.values(response.body.checks)) expect(check.ok).toBe(true);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('resolves function environments to the local resources they name', async () => {
    const functions = await control<FunctionInfo[]>('/functions');
    const health = functions.find((f) => /^Shop-dev-Services-Health[0-9A-F]{8}$/.test(f.name));
    expect(health, JSON.stringify(functions.map((f) => f.name))).toBeDefined();
    const env = health?.environment ?? {};
    // Fn::ImportValue of the Data stack's export → the table the local cloud created.
    const dynamodb = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: inject('endpoints').dynamodb,
      credentials,
    });
    const table = await dynamodb.send(new DescribeTableCommand({ TableName: env.CATALOG_TABLE }));
    expect(table.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual([
      'byCategory',
      'byType',
    ]);
    expect(table.Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: inject('endpoints').s3,
      credentials,
      forcePathStyle: true,
    });
    await expect(s3.send(new HeadBucketCommand({ Bucket: env.LAKE_RAW_BUCKET }))).resolves.toBeDefined();
    // Ref to the DatabaseUrl parameter → the embedded Postgres.
    // Shown with its password redacted.
    const databaseUrl = new URL(inject('endpoints').databaseUrl);
    databaseUrl.password = '****';
    expect(env.DATABASE_URL).toBe(databaseUrl.toString());
    expect(health?.arn).toBe(`arn:aws:lambda:us-east-1:000000000000:function:${health?.name}`);
  });

  it('creates the carts table with its TTL attribute', async () => {
    const dynamodb = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: inject('endpoints').dynamodb,
      credentials,
    });
    const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
    const tables = ['Carts', 'Idempotency'].map((t) =>
      TableNames.find((n) => n.startsWith(`Shop-dev-Data-${t}`)),
    );
    const ttl = await Promise.all(
      tables.map(async (TableName) => {
        const described = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName }));
        return described.TimeToLiveDescription?.AttributeName;
      }),
    );
    expect(ttl).toEqual(['expiresAt', 'expiration']);
  });

  it('applied the database migrations through the custom resource', async () => {
    const client = new pg.Client({ connectionString: inject('endpoints').databaseUrl });
    await client.connect();
    try {
      const applied = await client.query<{ name: string }>('select name from pgmigrations order by id');
      expect(applied.rows.map((r) => r.name)).toContain('0001_inventory');
      await expect(
        client.query("insert into inventory (product_id, stock) values ('x', -1)"),
      ).rejects.toThrow(/inventory_stock_check/);
    } finally {
      await client.end();
    }
  });
});

describe('API Gateway behaviour', () => {
  it('answers an unknown resource and a method the resource lacks alike: 403 Missing Authentication Token', async () => {
    const unknown = await api('/nope');
    expect(unknown.status).toBe(403);
    expect(unknown.body).toEqual({ message: 'Missing Authentication Token' });
    expect(unknown.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    const wrongMethod = await api('/health', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(403);
    expect(wrongMethod.body).toEqual({ message: 'Missing Authentication Token' });
  });

  it('serves the API under its stage only, like the execute-api URL', async () => {
    const apiUrl = inject('apiUrl');
    expect(apiUrl).toMatch(/\/v1$/);
    expect((await fetch(`${apiUrl}/health`)).status).toBe(200);
    const withoutStage = await fetch(`${apiUrl.replace(/\/v1$/, '')}/health`);
    expect(withoutStage.status).toBe(403);
    expect(await withoutStage.json()).toEqual({ message: 'Forbidden' });
  });

  it('lists the deployed routes on the control API (npm run local -- routes)', async () => {
    const routes = await control<{ method: string; path: string; authorizationType: string }[]>('/routes');
    expect(routes).toContainEqual(
      expect.objectContaining({ method: 'GET', path: '/health', authorizationType: 'NONE' }),
    );
    expect(routes).toContainEqual(
      expect.objectContaining({ method: 'GET', path: '/me', authorizationType: 'CUSTOM' }),
    );
  });

  it('deploys exactly the route manifest, and serves it as OpenAPI 3.1 at GET /openapi.json', async () => {
    const routes = await control<{ method: string; path: string; authorizationType: string }[]>('/routes');
    expect(
      routes
        .filter((r) => r.method !== 'OPTIONS')
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual(ROUTES.map(routeKey).sort());
    const response = await api<{ openapi: string; paths: Record<string, unknown> }>('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(response.body.openapi).toBe('3.1.0');
  });

  it('rejects a missing or invalid token with 401 before the function runs', async () => {
    expect((await api('/me')).status).toBe(401);
    expect((await api('/me', { token: 'not-a-jwt' })).body).toEqual({ message: 'Unauthorized' });
    const expired = await tokenFor('alice', { expiresIn: '-1m' });
    expect((await api('/me', { token: expired })).status).toBe(401);
  });

  it('passes the verified claims to the handler in the authorizer context', async () => {
    const alice = await api('/me', { token: await tokenFor('alice') });
    expect(alice.status).toBe(200);
    expect(alice.body).toEqual({ userId: 'alice', groups: [], isAdmin: false });
    const admin = await api('/me', { token: await tokenFor('root', { admin: true }) });
    expect(admin.body).toEqual({ userId: 'root', groups: ['admin'], isAdmin: true });
  });

  it('invokes a function directly through the control API (npm run invoke)', async () => {
    const functions = await control<FunctionInfo[]>('/functions');
    const me = functions.find((f) => f.name.startsWith('Shop-dev-Services-Me'));
    const result = await control<{ ok: boolean; payload: { statusCode: number; body: string } }>(
      `/functions/${me?.name}/invoke`,
      {
        method: 'POST',
        body: JSON.stringify({
          httpMethod: 'GET',
          resource: '/me',
          requestContext: { authorizer: { sub: 'direct' } },
        }),
      },
    );
    expect(result.ok).toBe(true);
    expect(result.payload.statusCode).toBe(200);
    expect(JSON.parse(result.payload.body)).toMatchObject({ userId: 'direct' });
  });
});
