import * as path from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

/** Where the SQL migrations are: beside the bundle in Lambda (`LAMBDA_TASK_ROOT`), else the repo root. */
export function migrationsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.LAMBDA_TASK_ROOT ?? process.cwd(), 'shared/db/migrations');
}

/**
 * Applies every pending migration in one transaction, holding node-pg-migrate's advisory lock
 * (a second runner waits for the first instead of failing). Returns the names it applied.
 */
export async function migrateUp(config: pg.ClientConfig, dir = migrationsDir()): Promise<string[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      singleTransaction: true,
      checkOrder: true,
      advisoryLockMode: 'wait',
      log: () => {},
    });
    return applied.map((m) => m.name);
  } finally {
    await client.end();
  }
}
