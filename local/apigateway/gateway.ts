import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RouteTable } from './router.ts';

/** What the gateway needs from the Lambda runtime. */
export type Invoke = (
  functionArn: string,
  event: unknown,
  options?: { signal?: AbortSignal },
) => Promise<
  | { ok: true; payload: unknown }
  | { ok: false; error: { errorType: string; errorMessage: string }; throttled?: boolean }
>;

export interface MethodDefinition {
  resourcePath: string;
  httpMethod: string;
  authorizationType: string; // NONE | CUSTOM | COGNITO_USER_POOLS | AWS_IAM
  authorizerId?: string;
  /** Lambda proxy integration target. */
  functionArn: string;
  /**
   * A MOCK integration instead (e.g. a CORS preflight): its integration response, with the static
   * header values of its `method.response.header.*` mappings.
   */
  mock?: { statusCode: number; headers: Record<string, string> };
}

/** A gateway response: what API Gateway adds to the errors it answers itself (401, 403, 404, 5xx…). */
export interface GatewayResponseDefinition {
  /** e.g. `DEFAULT_4XX`, `UNAUTHORIZED`, `ACCESS_DENIED`. */
  type: string;
  statusCode?: number;
  headers: Record<string, string>;
}

export interface AuthorizerDefinition {
  id: string;
  type: 'TOKEN' | 'REQUEST' | 'COGNITO_USER_POOLS';
  functionArn?: string;
  /** e.g. `method.request.header.Authorization` */
  identitySource: string;
  resultTtlSeconds: number;
}

export interface GatewayOptions {
  invoke: Invoke;
  restApiId: string;
  stage: string;
  region: string;
  accountId: string;
  /** `AWS::URLSuffix` of the region, for `requestContext.domainName`. @default 'amazonaws.com' */
  urlSuffix?: string;
  /**
   * Media types API Gateway treats as binary: request bodies of these types reach the function base64-encoded,
   * and a base64 response (`isBase64Encoded`) is decoded only when its type (or the request's `Accept`) is one.
   */
  binaryMediaTypes?: string[];
  log?: (entry: Record<string, unknown>) => void;
  /**
   * API Gateway's integration timeout: a request whose authorizer and integration have not answered
   * by then gets 504 `{"message":"Endpoint request timed out"}`. @default 29000 (REST APIs' maximum)
   */
  integrationTimeoutMs?: number;
}

/** API Gateway REST APIs stop waiting for an integration after 29 s (the default and maximum). */
export const INTEGRATION_TIMEOUT_MS = 29_000;

class IntegrationTimeout extends Error {}

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
 * answers API Gateway gives (403 `Forbidden` outside the stage, 403 `Missing Authentication Token` for an
 * unknown resource or method, 401/403 auth, 502 bad integration). Requests are addressed as on AWS:
 * `/<stage>/<resource path>`.
 */
export class LocalApiGateway {
  readonly routes = new RouteTable<MethodDefinition>();
  private readonly authorizers = new Map<string, AuthorizerDefinition>();
  private readonly cache = new Map<string, CachedPolicy>();
  private readonly methods: MethodDefinition[] = [];
  private readonly gatewayResponses = new Map<string, GatewayResponseDefinition>();
  private readonly options: GatewayOptions;

  constructor(options: GatewayOptions) {
    this.options = options;
  }

  /** The stage requests are addressed to: `/<stage>/…`. */
  get stage(): string {
    return this.options.stage;
  }

  addMethod(method: MethodDefinition): void {
    this.routes.add(method.resourcePath, method.httpMethod, method);
    this.methods.push(method);
  }

  /** The deployed methods, sorted by path and method: what `GET /_local/routes` shows. */
  describeRoutes(): {
    method: string;
    path: string;
    stagePath: string;
    authorizationType: string;
    functionArn: string;
  }[] {
    return this.methods
      .map((m) => ({
        method: m.httpMethod.toUpperCase(),
        path: m.resourcePath,
        stagePath: `/${this.options.stage}${m.resourcePath === '/' ? '' : m.resourcePath}`,
        authorizationType: m.authorizationType,
        functionArn: m.functionArn,
      }))
      .sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  }

  addAuthorizer(authorizer: AuthorizerDefinition): void {
    this.authorizers.set(authorizer.id, authorizer);
  }

  addGatewayResponse(response: GatewayResponseDefinition): void {
    this.gatewayResponses.set(response.type, response);
  }

  /**
   * An error answered by the gateway itself, shaped by the gateway response of its type, or else by
   * `DEFAULT_4XX`/`DEFAULT_5XX` (API Gateway developer guide, "Gateway responses in API Gateway").
   */
  private fail(
    res: ServerResponse,
    status: number,
    body: unknown,
    requestId: string,
    type: string,
    errorType?: string,
  ): number {
    const response =
      this.gatewayResponses.get(type) ??
      this.gatewayResponses.get(status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
    return send(res, response?.statusCode ?? status, body, requestId, errorType, response?.headers);
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
      if (path === undefined) {
        // The first path segment names the stage; API Gateway knows no other.
        status = this.fail(res, 403, { message: 'Forbidden' }, requestId, 'DEFAULT_4XX');
        return;
      }
      const match = this.routes.match(method, path);
      if (match.kind !== 'found') {
        // API Gateway answers an unknown resource, and a method a resource does not have, alike.
        status = this.fail(
          res,
          403,
          { message: 'Missing Authentication Token' },
          requestId,
          'MISSING_AUTHENTICATION_TOKEN',
        );
        return;
      }
      const mock = match.method.target.mock;
      if (mock) {
        status = mock.statusCode;
        res.writeHead(status, { ...mock.headers, 'content-length': '0', 'x-amzn-requestid': requestId });
        res.end();
        return;
      }
      const body = await readBody(req);
      if (body === undefined) {
        status = this.fail(res, 413, { message: 'Request Too Long' }, requestId, 'REQUEST_TOO_LARGE');
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
      // One deadline for the authorizer and the integration together, as API Gateway's 29 s.
      const deadline = new AbortController();
      const timeoutMs = this.options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
      const timer = setTimeout(() => deadline.abort(new IntegrationTimeout()), timeoutMs);
      const timedOut = new Promise<never>((_, reject) =>
        deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason), { once: true }),
      );
      timedOut.catch(() => {});
      const withinDeadline = <T>(work: Promise<T>) => Promise.race([work, timedOut]);
      let result: Awaited<ReturnType<Invoke>>;
      try {
        if (definition.authorizationType !== 'NONE') {
          const denied = await withinDeadline(this.authorize(definition, event, deadline.signal));
          if (denied) {
            const type =
              denied.status === 401
                ? 'UNAUTHORIZED'
                : denied.status === 403
                  ? 'ACCESS_DENIED'
                  : 'DEFAULT_5XX';
            status = this.fail(res, denied.status, denied.body, requestId, type, denied.errorType);
            return;
          }
        }
        result = await withinDeadline(
          this.options.invoke(definition.functionArn, event, { signal: deadline.signal }),
        );
      } catch (error) {
        if (!(error instanceof IntegrationTimeout)) throw error;
        this.options.log?.({ level: 'ERROR', message: 'integration timed out', requestId, timeoutMs });
        // API Gateway's INTEGRATION_TIMEOUT gateway response.
        status = this.fail(
          res,
          504,
          { message: 'Endpoint request timed out' },
          requestId,
          'INTEGRATION_TIMEOUT',
          'InternalServerErrorException',
        );
        return;
      } finally {
        clearTimeout(timer);
      }
      if (!result.ok) {
        this.options.log?.({ level: 'ERROR', message: 'integration failed', requestId, error: result.error });
        // A throttled Lambda function is an integration failure to API Gateway: 500, not the
        // function's 429 (AWS knowledge center, "API Gateway internal server error", throttling).
        status = this.fail(
          res,
          result.throttled ? 500 : 502,
          { message: 'Internal server error' },
          requestId,
          'DEFAULT_5XX',
        );
        return;
      }
      status = writeProxyResult(
        res,
        result.payload,
        requestId,
        (type) => this.isBinary(type) || this.isBinary(String(req.headers.accept ?? '').split(',')[0] ?? ''),
      );
      if (status === 502)
        this.options.log?.({ level: 'ERROR', message: 'malformed Lambda proxy response', requestId });
    } catch (error) {
      this.options.log?.({ level: 'ERROR', message: 'gateway error', requestId, error: String(error) });
      if (!res.headersSent)
        status = this.fail(res, 500, { message: 'Internal server error' }, requestId, 'DEFAULT_5XX');
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
    const add = (name: string, value: string) => {
      headers[name] = value; // API Gateway keeps the last value in `headers`
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
    };
    const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    let forwardedFor: string | undefined;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] as string;
      const value = req.rawHeaders[i + 1] as string;
      const lower = name.toLowerCase();
      // API Gateway does not pass the hop-by-hop framing headers on; it sets the X-Forwarded-* ones itself.
      if (HOP_HEADERS.has(lower)) continue;
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
      else if (!lower.startsWith('x-forwarded-') && lower !== 'x-amzn-trace-id') add(name, value);
    }
    add('X-Amzn-Trace-Id', traceId());
    add('X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${sourceIp}` : sourceIp);
    add('X-Forwarded-Port', String(req.socket.localPort ?? 80));
    add('X-Forwarded-Proto', 'http');
    const query: Record<string, string> = {};
    const multiQuery: Record<string, string[]> = {};
    for (const [key, value] of url.searchParams) {
      query[key] = value;
      multiQuery[key] = [...(multiQuery[key] ?? []), value];
    }
    const contentType = String(req.headers['content-type'] ?? '');
    const binary = body.length > 0 && this.isBinary(contentType);
    const now = new Date();
    const { restApiId, stage, accountId, region, urlSuffix = 'amazonaws.com' } = this.options;
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
        resourceId: shortId(`${restApiId}${resourcePath}`, 6),
        resourcePath,
        httpMethod,
        stage,
        path: `/${stage}${path}`,
        protocol: `HTTP/${req.httpVersion}`,
        requestId,
        extendedRequestId: randomBytes(12).toString('base64'),
        requestTime: clfTime(now),
        requestTimeEpoch: now.getTime(),
        domainName: `${restApiId}.execute-api.${region}.${urlSuffix}`,
        domainPrefix: restApiId,
        identity: {
          cognitoIdentityPoolId: null,
          accountId: null,
          cognitoIdentityId: null,
          caller: null,
          apiKey: null,
          apiKeyId: null,
          accessKey: null,
          sourceIp,
          principalOrgId: null,
          cognitoAuthenticationType: null,
          cognitoAuthenticationProvider: null,
          userArn: null,
          userAgent: String(req.headers['user-agent'] ?? ''),
          user: null,
          clientCert: null,
        },
        authorizer: null as Record<string, unknown> | null,
      },
    };
  }

  private isBinary(contentType: string): boolean {
    const types = this.options.binaryMediaTypes ?? [];
    const base = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!base) return false;
    return types.some(
      (t) => t === '*/*' || t === base || (t.endsWith('/*') && base.startsWith(t.slice(0, -1))),
    );
  }

  private methodArn(event: { httpMethod: string; resource: string }) {
    const { region, accountId, restApiId, stage, urlSuffix } = this.options;
    const partition = urlSuffix === 'amazonaws.com.cn' ? 'aws-cn' : 'aws';
    return `arn:${partition}:execute-api:${region}:${accountId}:${restApiId}/${stage}/${event.httpMethod}${event.resource}`;
  }

  /** Runs the method's authorizer; returns the refusal to send, or undefined when allowed. */
  private async authorize(
    method: MethodDefinition,
    event: ReturnType<LocalApiGateway['toEvent']>,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown; errorType?: string } | undefined> {
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
    let decision: CachedPolicy | undefined = this.cache.get(cacheKey);
    if (!decision || decision.expires < Date.now()) {
      const decided = await this.decide(authorizer, token, event, methodArn, signal);
      if (decided === 'failed') {
        // The authorizer itself failed (crashed, threw, timed out, returned no policy): API Gateway
        // answers 500 AuthorizerConfigurationException, not 401, and caches nothing.
        return { status: 500, body: { message: null }, errorType: 'AuthorizerConfigurationException' };
      }
      if (!decided) return unauthorized;
      decision = decided;
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
    signal?: AbortSignal,
  ): Promise<(CachedPolicy & { statements?: PolicyStatement[] }) | 'failed' | undefined> {
    const expires = Date.now() + authorizer.resultTtlSeconds * 1000;
    // There is no Cognito here: the local target's template uses a TOKEN authorizer (services-stack.ts),
    // so a COGNITO_USER_POOLS method (an aws-target template) refuses every token with 401.
    if (authorizer.type === 'COGNITO_USER_POOLS') return undefined;
    const request =
      authorizer.type === 'TOKEN'
        ? { type: 'TOKEN', authorizationToken: token, methodArn }
        : { ...event, type: 'REQUEST', methodArn };
    const result = await this.options.invoke(authorizer.functionArn as string, request, { signal });
    if (!result.ok) {
      // Only an authorizer that says "Unauthorized" (throws that error) means 401.
      if (result.error.errorMessage === 'Unauthorized') return undefined;
      this.options.log?.({ level: 'ERROR', message: 'authorizer failed', error: result.error });
      return 'failed';
    }
    const output = result.payload as AuthorizerOutput;
    if (!output || typeof output !== 'object' || !output.policyDocument) return 'failed';
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

/** Headers of the client's connection that API Gateway does not pass to the integration. */
const HOP_HEADERS = new Set(['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'expect']);

/** The resource path under `/<stage>`, or `undefined` when the request names another stage (or none). */
function stripStage(pathname: string, stage: string): string | undefined {
  const prefix = `/${stage}`;
  if (pathname === prefix || pathname === `${prefix}/`) return '/';
  return pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `$context.requestTime` in the CLF format API Gateway uses: `20/Feb/2018:22:48:57 +0000`. */
export function clfTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/** An X-Ray trace header as API Gateway adds it: `Root=1-<epoch seconds, hex>-<96 random bits, hex>`. */
function traceId(): string {
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

function shortId(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
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

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
  errorType?: string,
  headers: Record<string, string> = {},
): number {
  const text = JSON.stringify(body);
  const message = body && (body as { message?: string }).message;
  const type =
    errorType ??
    (message === 'Missing Authentication Token'
      ? 'MissingAuthenticationTokenException'
      : message === 'Forbidden'
        ? 'ForbiddenException'
        : undefined);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': requestId,
    ...(type ? { 'x-amzn-errortype': type } : {}),
  });
  res.end(text);
  return status;
}

/**
 * Writes a Lambda proxy result; a result API Gateway could not use becomes its 502. `headers` and
 * `multiValueHeaders` are merged, a value given in both appearing once; a base64 body is decoded only when
 * `isBinary` says its media type is binary, otherwise the client gets the base64 text, as from API Gateway.
 */
function writeProxyResult(
  res: ServerResponse,
  payload: unknown,
  requestId: string,
  isBinary: (contentType: string) => boolean,
): number {
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
  const headers: Record<string, string[]> = {};
  for (const [k, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[k.toLowerCase()] = [...(headers[k.toLowerCase()] ?? []), ...[values].flat().map(String)];
  }
  for (const [k, v] of Object.entries(result.headers ?? {})) {
    const values = headers[k.toLowerCase()] ?? [];
    if (!values.includes(String(v))) headers[k.toLowerCase()] = [...values, String(v)];
  }
  const single = (name: string) => headers[name]?.[0];
  headers['content-type'] ??= ['application/json'];
  const decode = result.isBase64Encoded === true && isBinary(single('content-type') ?? '');
  const body = result.body ? Buffer.from(result.body, decode ? 'base64' : 'utf8') : Buffer.alloc(0);
  headers['content-length'] = [String(body.length)];
  headers['x-amzn-requestid'] = [requestId];
  res.writeHead(
    statusCode,
    Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.length === 1 ? (v[0] as string) : v])),
  );
  res.end(body);
  return statusCode;
}
