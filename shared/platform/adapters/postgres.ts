import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { configuredBudgetMs, type PostgresTimeouts, postgresTimeouts } from '../../budget.ts';
import { ConfigError, optionalEnv } from '../../config.ts';
import { logger } from '../../observability.ts';
import { secretsManagerClient } from './aws-clients.ts';
import { tagDependency } from './dependencies.ts';

/** The fields of an RDS-generated credentials secret that a connection needs. */
interface RdsSecret {
  host: string;
  port: number;
  dbname?: string;
  username: string;
  password: string;
}

/**
 * Connection settings from the environment:
 * - `DATABASE_URL` (local cloud, LocalStack, any external Postgres), or
 * - `DB_SECRET_ARN` (RDS: the generated secret holds host, port, user and password), with
 *   `DB_SSL=verify-full` to require TLS with certificate verification. Read again on every call:
 *   after a rotation it returns the new password.
 */
export async function connectionConfig(env: NodeJS.ProcessEnv = process.env): Promise<pg.PoolConfig> {
  const url = optionalEnv('DATABASE_URL', undefined, env);
  if (url) return { connectionString: url };
  const secretArn = optionalEnv('DB_SECRET_ARN', undefined, env);
  if (!secretArn) throw new ConfigError('Set DATABASE_URL or DB_SECRET_ARN to reach Postgres');
  const out = await secretsManagerClient().send(new GetSecretValueCommand({ SecretId: secretArn }));
  const secret = JSON.parse(out.SecretString ?? '{}') as RdsSecret;
  return {
    host: secret.host,
    port: Number(secret.port),
    database: secret.dbname ?? 'shop',
    user: secret.username,
    password: secret.password,
    ssl: optionalEnv('DB_SSL', undefined, env) === 'verify-full' ? { rejectUnauthorized: true } : undefined,
  };
}

/**
 * The timeout settings of a pool, from the request budget (`shared/budget.ts`): how long to wait for
 * a connection (also a pooled one), for a lock, for a statement (server side), for an answer at all
 * (client side: a frozen server never cancels anything), and how long a transaction may sit idle.
 */
export function timeoutSettings(t: PostgresTimeouts = postgresTimeouts(configuredBudgetMs())): pg.PoolConfig {
  return {
    connectionTimeoutMillis: t.connectMs,
    statement_timeout: t.statementMs,
    lock_timeout: t.lockMs,
    query_timeout: t.queryMs,
    idle_in_transaction_session_timeout: t.idleInTransactionMs,
  };
}

/** Authentication refused: the password changed (secret rotation) since the pool read it. */
const isAuthFailure = (error: unknown) => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === '28P01' || code === '28000';
};

type Query = pg.PoolClient['query'];

/**
 * A `pg.Pool` that survives its database's faults:
 * - an `'error'` listener on the pool and on every client, so a connection the server drops (restart,
 *   failover, `pg_terminate_backend`) is logged and discarded instead of crashing the process with an
 *   uncaught exception; the next query opens a new connection (reconnect);
 * - errors tagged `postgres`, so the HTTP layer answers 503 DEPENDENCY_UNAVAILABLE for them;
 * - on an authentication failure, the credentials are read again (`reload`) and the connection
 *   retried once: a rotated password takes effect without a cold start.
 */
export class ResilientPool extends pg.Pool {
  private readonly reload: () => Promise<pg.PoolConfig>;

  constructor(config: pg.PoolConfig, reload: () => Promise<pg.PoolConfig>) {
    super(config);
    this.reload = reload;
    this.on('error', (error) => logger.warn('idle Postgres connection failed; discarded', { error }));
    this.on('connect', (client) => {
      client.on('error', (error) => logger.warn('Postgres connection failed; discarded', { error }));
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        const result = query(...args);
        return result instanceof Promise
          ? result.catch((error: unknown) => {
              throw tagDependency(error, 'postgres');
            })
          : result;
      }) as Query;
    });
  }

  private async connectOnce(): Promise<pg.PoolClient> {
    try {
      return await super.connect();
    } catch (error) {
      if (!isAuthFailure(error)) throw error;
      logger.warn('Postgres refused the credentials; reading them again (rotation?)');
      const fresh = await this.reload();
      const options = (this as unknown as { options: pg.PoolConfig }).options;
      Object.assign(options, {
        host: fresh.host,
        port: fresh.port,
        user: fresh.user,
        password: fresh.password,
      });
      return super.connect();
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg-pool's overloads (promise and callback forms)
  override query(...args: any[]): any {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    return result instanceof Promise
      ? result.catch((error: unknown) => {
          throw tagDependency(error, 'postgres');
        })
      : result;
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg-pool's overloads (promise and callback forms)
  override connect(callback?: any): any {
    const connecting = this.connectOnce().catch((error: unknown) => {
      throw tagDependency(error, 'postgres');
    });
    if (!callback) return connecting;
    connecting.then(
      (client) => callback(undefined, client, (release?: unknown) => client.release(release as Error)),
      (error) => callback(error),
    );
    return undefined;
  }
}

let pool: Promise<pg.Pool> | undefined;

/**
 * A function's pool on `config`: `DB_POOL_MAX` connections (2), the budget's timeouts
 * ({@link timeoutSettings}) and the fault handling of {@link ResilientPool}. `reload` reads the
 * credentials again after an authentication failure. The primary's and the reader's pools both use it.
 *
 * @example
 * const pool = functionPool(await connectionConfig(), () => connectionConfig());
 */
export function functionPool(config: pg.PoolConfig, reload: () => Promise<pg.PoolConfig>): pg.Pool {
  return new ResilientPool(
    {
      ...config,
      max: Number(optionalEnv('DB_POOL_MAX', '2')),
      idleTimeoutMillis: 60_000,
      ...timeoutSettings(),
    },
    reload,
  );
}

/**
 * A small pool per execution environment, created on first use. Lambda runs one request at a time
 * per environment, so a couple of connections cover a handler that queries in parallel. Timeouts
 * come from the request budget; see {@link ResilientPool} for what it survives.
 */
export function postgresPool(): Promise<pg.Pool> {
  pool ??= connectionConfig().then((config) => functionPool(config, () => connectionConfig()));
  pool.catch(() => {
    pool = undefined; // let the next call try again instead of caching the failure
  });
  return pool;
}
