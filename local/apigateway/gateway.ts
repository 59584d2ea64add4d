import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RouteTable } from './router.ts';

/** What the gateway needs from the Lambda runtime. */
export type Invoke = (
  functionArn: string,
  event: unknown,
) => Promise<
  { ok: true; payload: unknown } | { ok: false; error: { errorType: string; errorMessage: string } }
>;

export interface MethodDefinition {
  resourcePath: string;
  httpMethod: string;
  authorizationType: string; // NONE | CUSTOM | COGNITO_USER_POOLS | AWS_IAM
  authorizerId?: string;
  /** Lambda proxy integration target. */
  functionArn: string;
}

export interface AuthorizerDefinition {
  id: string;
  type: 'TOKEN' | 'REQUEST' | 'COGNITO_USER_POOLS';
  functionArn?: string;
  /** e.g. `method.request.header.Authorization` */
  identitySource: string;
  resultTtlSeconds: number;
  /** Verifies a token for COGNITO_USER_POOLS authorizers: returns the claims, or throws. */
  verifyCognitoToken?: (token: string) => Promise<Record<string, unknown>>;
}

export interface GatewayOptions {
  invoke: Invoke;
  restApiId: string;
  stage: string;
  region: string;
  accountId: string;
  /** Media types API Gateway treats as binary (request bodies base64-encoded). */
  binaryMediaTypes?: string[];
  log?: (entry: Record<string, unknown>) => void;
}

type CachedPolicy = {
  expires: number;
  principalId: string;
  context: Record<string, unknown>;
  allowed: boolean;
};

const MAX_BODY_BYTES = 10 * 1024 * 1024; // API Gateway's payload limit

/**
 * An API Gateway REST API with Lambda proxy integrations, served by a Node HTTP server:
 * request → `APIGatewayProxyEvent`, Lambda result → HTTP response, with TOKEN/REQUEST Lambda
 * authorizers (policy checked, result cached per identity for the configured TTL) and the error
 * answers API Gateway gives (404 unknown route, 403 wrong method, 401/403 auth, 502 bad integration).
 */
export class LocalApiGateway {
  readonly routes = new RouteTable<MethodDefinition>();
  private readonly authorizers = new Map<string, AuthorizerDefinition>();
  private readonly cache = new Map<string, CachedPolicy>();
  private readonly options: GatewayOptions;

  constructor(options: GatewayOptions) {
    this.options = options;
  }

  addMethod(method: MethodDefinition): void {
    this.routes.add(method.resourcePath, method.httpMethod, method);
  }

  addAuthorizer(authorizer: AuthorizerDefinition): void {
    this.authorizers.set(authorizer.id, authorizer);
  }

  /** Handles one HTTP request end to end. Never throws: errors become API Gateway-style answers. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = randomUUID();
    let status = 500;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = stripStage(url.pathname, this.options.stage);
      const method = (req.method ?? 'GET').toUpperCase();
      const match = this.routes.match(method, path);
      if (match.kind === 'no-route') {
        status = send(res, 404, { message: 'Not Found' }, requestId);
        return;
      }
      if (match.kind === 'no-method') {
        // API Gateway answers a method that is not defined on a resource with 403.
        status = send(res, 403, { message: 'Missing Authentication Token' }, requestId);
        return;
      }
      const body = await readBody(req);
      if (body === undefined) {
        status = send(res, 413, { message: 'Request Too Long' }, requestId);
        return;
      }
      const event = this.toEvent(
        req,
        url,
        path,
        method,
        match.resourcePath,
        match.pathParameters,
        body,
        requestId,
      );
      const definition = match.method.target;
      if (definition.authorizationType !== 'NONE') {
        const denied = await this.authorize(definition, event);
        if (denied) {
          status = send(res, denied.status, denied.body, requestId);
          return;
        }
      }
      const result = await this.options.invoke(definition.functionArn, event);
      if (!result.ok) {
        this.options.log?.({ level: 'ERROR', message: 'integration failed', requestId, error: result.error });
        status = send(res, 502, { message: 'Internal server error' }, requestId);
        return;
      }
      status = writeProxyResult(res, result.payload, requestId);
      if (status === 502)
        this.options.log?.({ level: 'ERROR', message: 'malformed Lambda proxy response', requestId });
    } catch (error) {
      this.options.log?.({ level: 'ERROR', message: 'gateway error', requestId, error: String(error) });
      if (!res.headersSent) status = send(res, 500, { message: 'Internal server error' }, requestId);
      else res.end();
    } finally {
      this.options.log?.({
        level: 'INFO',
        message: 'request',
        requestId,
        method: req.method,
        path: req.url,
        status,
        latencyMs: Math.round((performance.now() - started) * 10) / 10,
      });
    }
  }

  private toEvent(
    req: IncomingMessage,
    url: URL,
    path: string,
    httpMethod: string,
    resourcePath: string,
    pathParameters: Record<string, string> | null,
    body: Buffer,
    requestId: string,
  ) {
    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] as string;
      const value = req.rawHeaders[i + 1] as string;
      headers[name] = value; // API Gateway keeps the last value in `headers`
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
    }
    const query: Record<string, string> = {};
    const multiQuery: Record<string, string[]> = {};
    for (const [key, value] of url.searchParams) {
      query[key] = value;
      multiQuery[key] = [...(multiQuery[key] ?? []), value];
    }
    const contentType = String(req.headers['content-type'] ?? '');
    const binary = body.length > 0 && this.isBinary(contentType);
    const now = new Date();
    const { restApiId, stage, accountId } = this.options;
    return {
      resource: resourcePath,
      path,
      httpMethod,
      headers,
      multiValueHeaders,
      queryStringParameters: Object.keys(query).length ? query : null,
      multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
      pathParameters,
      stageVariables: null,
      body: body.length === 0 ? null : body.toString(binary ? 'base64' : 'utf8'),
      isBase64Encoded: binary,
      requestContext: {
        accountId,
        apiId: restApiId,
        resourceId: resourcePath,
        resourcePath,
        httpMethod,
        stage,
        path: `/${stage}${path}`,
        protocol: `HTTP/${req.httpVersion}`,
        requestId,
        extendedRequestId: requestId,
        requestTime: now.toUTCString(),
        requestTimeEpoch: now.getTime(),
        domainName: String(req.headers.host ?? 'localhost'),
        identity: {
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: String(req.headers['user-agent'] ?? ''),
        },
        authorizer: null as Record<string, unknown> | null,
      },
    };
  }

  private isBinary(contentType: string): boolean {
    const types = this.options.binaryMediaTypes ?? [];
    const base = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    return types.some(
      (t) => t === '*/*' || t === base || (t.endsWith('/*') && base.startsWith(t.slice(0, -1))),
    );
  }

  private methodArn(event: { httpMethod: string; resource: string }) {
    const { region, accountId, restApiId, stage } = this.options;
    return `arn:aws:execute-api:${region}:${accountId}:${restApiId}/${stage}/${event.httpMethod}${event.resource}`;
  }

  /** Runs the method's authorizer; returns the refusal to send, or undefined when allowed. */
  private async authorize(
    method: MethodDefinition,
    event: ReturnType<LocalApiGateway['toEvent']>,
  ): Promise<{ status: number; body: unknown } | undefined> {
    const unauthorized = { status: 401, body: { message: 'Unauthorized' } };
    const authorizer = method.authorizerId ? this.authorizers.get(method.authorizerId) : undefined;
    if (!authorizer)
      return { status: 500, body: { message: `Authorizer ${method.authorizerId} is not deployed` } };
    const headerName =
      /^method\.request\.header\.(.+)$/.exec(authorizer.identitySource)?.[1] ?? 'Authorization';
    const token = Object.entries(event.headers).find(
      ([k]) => k.toLowerCase() === headerName.toLowerCase(),
    )?.[1];
    if (!token) return unauthorized;

    const methodArn = this.methodArn(event);
    const cacheKey = `${authorizer.id}:${token}`;
    let decision = this.cache.get(cacheKey);
    if (!decision || decision.expires < Date.now()) {
      decision = await this.decide(authorizer, token, event, methodArn);
      if (!decision) return unauthorized;
      if (authorizer.resultTtlSeconds > 0) this.cache.set(cacheKey, decision);
    }
    if (!decision.allowed || !policyAllows(decision, methodArn)) {
      return {
        status: 403,
        body: { Message: 'User is not authorized to access this resource with an explicit deny' },
      };
    }
    event.requestContext.authorizer =
      authorizer.type === 'COGNITO_USER_POOLS'
        ? { claims: decision.context }
        : { ...decision.context, principalId: decision.principalId };
    return undefined;
  }

  private async decide(
    authorizer: AuthorizerDefinition,
    token: string,
    event: ReturnType<LocalApiGateway['toEvent']>,
    methodArn: string,
  ): Promise<(CachedPolicy & { statements?: PolicyStatement[] }) | undefined> {
    const expires = Date.now() + authorizer.resultTtlSeconds * 1000;
    if (authorizer.type === 'COGNITO_USER_POOLS') {
      try {
        const claims = await authorizer.verifyCognitoToken?.(token.replace(/^Bearer\s+/i, ''));
        if (!claims) return undefined;
        return { expires, principalId: String(claims.sub), context: claims, allowed: true };
      } catch {
        return undefined;
      }
    }
    const request =
      authorizer.type === 'TOKEN'
        ? { type: 'TOKEN', authorizationToken: token, methodArn }
        : { ...event, type: 'REQUEST', methodArn };
    const result = await this.options.invoke(authorizer.functionArn as string, request);
    if (!result.ok) return undefined; // "Unauthorized" thrown, or any authorizer failure → 401
    const output = result.payload as AuthorizerOutput;
    const statements = [output?.policyDocument?.Statement ?? []].flat();
    return {
      expires,
      principalId: String(output?.principalId ?? ''),
      context: output?.context ?? {},
      allowed: statements.length > 0,
      statements,
    };
  }
}

interface PolicyStatement {
  Effect: string;
  Action?: string | string[];
  Resource?: string | string[];
}
interface AuthorizerOutput {
  principalId?: string;
  policyDocument?: { Statement?: PolicyStatement | PolicyStatement[] };
  context?: Record<string, unknown>;
}

/** IAM-style evaluation of an authorizer policy for one method ARN: explicit Deny wins, then Allow. */
function policyAllows(
  decision: CachedPolicy & { statements?: PolicyStatement[] },
  methodArn: string,
): boolean {
  if (!decision.statements) return decision.allowed;
  const applies = (s: PolicyStatement) =>
    [s.Action ?? []].flat().some((a) => a === '*' || a === 'execute-api:Invoke' || a === 'execute-api:*') &&
    [s.Resource ?? []].flat().some((r) => wildcard(r).test(methodArn));
  if (decision.statements.some((s) => s.Effect === 'Deny' && applies(s))) return false;
  return decision.statements.some((s) => s.Effect === 'Allow' && applies(s));
}

function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

function stripStage(pathname: string, stage: string): string {
  const prefix = `/${stage}`;
  if (pathname === prefix) return '/';
  return pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : pathname;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown, requestId: string): number {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    ...(status === 403 || status === 404
      ? { 'x-amzn-errortype': status === 404 ? 'NotFoundException' : 'MissingAuthenticationTokenException' }
      : {}),
  });
  res.end(text);
  return status;
}

/** Writes a Lambda proxy result; a result API Gateway could not use becomes its 502. */
function writeProxyResult(res: ServerResponse, payload: unknown, requestId: string): number {
  const result = payload as {
    statusCode?: unknown;
    headers?: Record<string, unknown>;
    multiValueHeaders?: Record<string, unknown[]>;
    body?: unknown;
    isBase64Encoded?: boolean;
  } | null;
  const statusCode = Number(result?.statusCode);
  if (
    !result ||
    typeof result !== 'object' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    return send(res, 502, { message: 'Internal server error' }, requestId);
  }
  if (result.body !== undefined && result.body !== null && typeof result.body !== 'string') {
    return send(res, 502, { message: 'Internal server error' }, requestId);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  for (const [k, values] of Object.entries(result.multiValueHeaders ?? {})) {
    // Multi-value headers and single headers of the same name are merged, as API Gateway does.
    const existing = headers[k.toLowerCase()];
    headers[k.toLowerCase()] = [...(existing === undefined ? [] : [existing].flat()), ...values.map(String)];
  }
  const body = result.body
    ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  headers['content-length'] = String(body.length);
  headers['x-amzn-requestid'] = requestId;
  headers['content-type'] ??= 'application/json';
  res.writeHead(statusCode, headers);
  res.end(body);
  return statusCode;
}
