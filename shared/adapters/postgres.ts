import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { ConfigError, optionalEnv } from '../config.ts';
import { secretsManagerClient } from './aws-clients.ts';

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
 *   `DB_SSL=verify-full` to require TLS with certificate verification.
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

let pool: Promise<pg.Pool> | undefined;

/**
 * A small pool per execution environment, created on first use. Lambda runs one request at a time
 * per environment, so a couple of connections cover a handler that queries in parallel.
 */
export function postgresPool(): Promise<pg.Pool> {
  pool ??= connectionConfig().then(
    (config) =>
      new pg.Pool({
        ...config,
        max: Number(optionalEnv('DB_POOL_MAX', '2')),
        idleTimeoutMillis: 60_000,
        connectionTimeoutMillis: 5_000,
      }),
  );
  pool.catch(() => {
    pool = undefined; // let the next call try again instead of caching the failure
  });
  return pool;
}
