import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../../shared/auth/jwt.ts';
import { buildConsole, contentSecurityPolicy } from '../../web/build.ts';
import type { SigningKey } from '../cloud/signing-key.ts';
import type { LogBuffer } from './log-buffer.ts';

export { LogBuffer } from './log-buffer.ts';

export interface ConsoleServerOptions {
  signingKey: SigningKey;
  /** The API's URL (known once the gateway listens). */
  apiUrl: () => string;
  /** The local control API (`/_local/...` on the services port), proxied for the console's local cloud page. */
  controlUrl: string;
  /**
   * The control API's secret (`<stateDir>/control-token`). The console's server reads the views in
   * {@link PROXIED} with it: GETs only, of views that show no secrets (passwords are redacted), on a
   * server bound to 127.0.0.1; every other control route keeps asking its caller for the token.
   */
  controlToken: string;
  logs: LogBuffer;
}

const USER_ID = /^[\w@.+-]{1,128}$/;
/** Control routes the console may read (GET only): what the local cloud page shows. */
const PROXIED = new Set([
  'functions',
  'routes',
  'rules',
  'dead-letters',
  'faults',
  'executions',
  'state-machines',
]);

/**
 * The web console's server in the local cloud: the built SPA, `config.json` pointing it at the API,
 * a token endpoint (a user picker instead of Cognito's hosted UI: tokens signed with the local cloud's
 * key, as `npm run token` signs them), and read-only views of the local cloud. Binds 127.0.0.1 only.
 *
 * The SPA calls the API cross-origin; the API allows exactly this server's origin (CORS), as the
 * deployed API allows the CloudFront distribution's.
 */
export class ConsoleServer {
  readonly server: Server;
  private files = new Map<string, Uint8Array>();
  private readonly options: ConsoleServerOptions;
  private built: Promise<void> | undefined;
  private buildError: Error | undefined;

  constructor(options: ConsoleServerOptions) {
    this.options = options;
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /**
   * Builds the SPA (esbuild, about 0.3-0.5 CPU-s), once; the first page request waits for it. The
   * local cloud calls this once it is ready, so the build does not compete with the start-up.
   */
  build(): Promise<void> {
    // A failed build is answered on each request (502 with esbuild's message), not thrown here.
    this.built ??= buildConsole().then(
      (b) => {
        this.files = b.files;
      },
      (error: Error) => {
        this.files = new Map();
        this.buildError = error;
      },
    );
    return this.built;
  }

  /** Listens (before the deploy: the API's CORS origin names this port); the SPA is built by {@link build}. */
  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = req.method ?? 'GET';
      if (url.pathname === '/config.json' && method === 'GET') {
        return send(res, 200, {
          apiUrl: this.options.apiUrl(),
          mode: 'local',
          local: { tokenUrl: '/_local/token', controlUrl: '/_local' },
        });
      }
      if (url.pathname === '/_local/token') {
        if (method !== 'POST') return send(res, 405, { message: 'POST {"userId": "alice", "admin": false}' });
        return await this.token(req, res);
      }
      if (url.pathname === '/_local/logs' && method === 'GET') {
        const limit = Math.min(500, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
        return send(res, 200, this.options.logs.recent(limit, url.searchParams.get('function') ?? undefined));
      }
      const control = /^\/_local\/([\w-]+)$/.exec(url.pathname)?.[1];
      if (control) {
        if (method !== 'GET' || !PROXIED.has(control))
          return send(res, 404, { message: `No ${method} ${url.pathname}` });
        const upstream = await fetch(`${this.options.controlUrl}/_local/${control}`, {
          headers: { authorization: `Bearer ${this.options.controlToken}` },
          signal: AbortSignal.timeout(5000),
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        res.writeHead(upstream.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        return void res.end(body);
      }
      if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { message: 'Method Not Allowed' });
      await this.build();
      if (this.buildError)
        return send(res, 502, { message: `The console did not build: ${this.buildError.message}` });
      const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      const file = this.files.get(name);
      if (!file) return send(res, 404, { message: `No ${url.pathname}` });
      res.writeHead(200, {
        'content-type': TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream',
        'content-length': file.byteLength,
        // Hashed names never change; index.html must be revalidated to pick up a new build.
        'cache-control': name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
        ...securityHeaders(this.options.apiUrl()),
      });
      res.end(method === 'HEAD' ? undefined : file);
    } catch (error) {
      if (!res.headersSent) send(res, 502, { message: (error as Error).message });
      else res.end();
    }
  }

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // JSON only: a cross-site form cannot send it without a CORS preflight, which this server refuses.
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      return send(res, 415, { error: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send application/json' });
    let body: { userId?: unknown; admin?: unknown };
    try {
      body = JSON.parse(await readText(req)) as typeof body;
    } catch {
      return send(res, 400, {
        error: 'VALIDATION',
        message: 'Body is not JSON',
        details: [{ path: 'body', message: 'must be JSON' }],
      });
    }
    if (typeof body.userId !== 'string' || !USER_ID.test(body.userId))
      return send(res, 400, {
        error: 'VALIDATION',
        message: 'Invalid userId',
        details: [{ path: 'body.userId', message: '1-128 letters, digits, _ @ . + -' }],
      });
    const token = await signToken(
      this.options.signingKey.privateJwk,
      { sub: body.userId, groups: body.admin === true ? ['admin'] : [] },
      { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, expiresIn: '12h' },
    );
    send(res, 200, { token });
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The headers CloudFront's response headers policy sets on AWS (`infra/stacks/web-stack.ts`). */
export function securityHeaders(apiUrl: string): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy([new URL(apiUrl).origin]),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'strict-origin-when-cross-origin',
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}
