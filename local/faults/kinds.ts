/**
 * The built-in fault kinds: kill and freeze the emulators, kill a function's worker, hold a row lock,
 * and FIS's Lambda actions (`./lambda.ts`).
 *
 * @module
 */
import pg from 'pg';
import { LAMBDA_FAULTS } from './lambda.ts';
import {
  FaultError,
  type FaultKind,
  type FaultTargets,
  flag,
  functionNamed,
  type Injected,
  seconds,
  text,
} from './types.ts';

/** Sends `signal` to a process group (the emulators run in their own); false when it is gone. */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

function postgresOf(targets: FaultTargets) {
  const postgres = targets.postgres;
  if (!postgres?.restart) {
    throw new FaultError(
      409,
      'Postgres is not the embedded one (DATABASE_URL): it cannot be killed or frozen',
    );
  }
  return postgres as Required<NonNullable<FaultTargets['postgres']>>;
}

function pidOf(name: string, target: { readonly pid?: number | undefined } | undefined): number {
  const pid = target?.pid;
  if (!pid) throw new FaultError(409, `${name} is not running`);
  return pid;
}

/** SIGSTOP of the process group for `seconds`, then SIGCONT: a dependency that hangs without failing. */
function freeze(
  name: 'dynamodb' | 'postgres',
  target: (t: FaultTargets) => { readonly pid?: number | undefined } | undefined,
): FaultKind<{ seconds: number }> {
  return {
    name: `freeze-${name}`,
    description: `SIGSTOP ${name} (its whole process group) for \`seconds\`, then SIGCONT: requests to it hang`,
    parameters: { seconds: 'how long it stays frozen, 1-600 (default 10)' },
    parse: (params) => ({ seconds: seconds(params, 'seconds', 10) }),
    async inject(targets, params) {
      if (name === 'postgres') postgresOf(targets);
      const pid = pidOf(name, target(targets));
      signalGroup(pid, 'SIGSTOP');
      return {
        detail: { pid },
        durationSeconds: params.seconds,
        heal: async () => {
          signalGroup(pid, 'SIGCONT');
        },
      };
    },
  };
}

const killPostgres: FaultKind<{ downSeconds: number }> = {
  name: 'kill-postgres',
  description:
    'SIGKILL of the embedded Postgres (postmaster and backends), restarted after `downSeconds` with crash recovery',
  parameters: { downSeconds: 'how long it stays down before the restart, 0-600 (default 0)' },
  parse: (params) => ({ downSeconds: seconds(params, 'downSeconds', 0, { min: 0 }) }),
  async inject(targets, params): Promise<Injected> {
    const postgres = postgresOf(targets);
    const pid = pidOf('postgres', postgres);
    signalGroup(pid, 'SIGKILL');
    const restart = async () => {
      await postgres.restart();
    };
    if (params.downSeconds === 0) {
      await restart();
      return { detail: { pid, restartedPid: postgres.pid }, heal: async () => {} };
    }
    return { detail: { pid }, durationSeconds: params.downSeconds, heal: restart };
  },
};

const killWorker: FaultKind<{ function: string; all: boolean }> = {
  name: 'kill-worker',
  description:
    "SIGKILL a function's worker process (a busy one first): its invocation fails as Runtime.ExitError, the next starts cold",
  parameters: {
    function: 'function name or a unique part of it (required)',
    all: 'kill every worker of the function (default false)',
  },
  parse: (params) => ({ function: text(params, 'function'), all: flag(params, 'all', false) }),
  async inject(targets, params) {
    const name = functionNamed(targets, params.function);
    const workers = (targets.functions?.workers(name) ?? []).sort((a, b) => Number(b.busy) - Number(a.busy));
    const victims = params.all ? workers : workers.slice(0, 1);
    for (const worker of victims) {
      try {
        process.kill(worker.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    return { detail: { function: name, killed: victims }, heal: async () => {} };
  },
};

const holdLock: FaultKind<{ productId: string; seconds: number }> = {
  name: 'hold-lock',
  description:
    'Holds a row lock on one inventory row (SELECT … FOR UPDATE in an open transaction) for `seconds`',
  parameters: {
    productId: 'the inventory row to lock (required)',
    seconds: 'how long the lock is held, 1-600 (default 10)',
  },
  parse: (params) => ({ productId: text(params, 'productId'), seconds: seconds(params, 'seconds', 10) }),
  async inject(targets, params) {
    const url = targets.postgres?.url;
    if (!url) throw new FaultError(409, 'No Postgres to lock');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query('begin');
      const locked = await client.query('select 1 from inventory where product_id = $1 for update', [
        params.productId,
      ]);
      if (locked.rowCount === 0)
        throw new FaultError(404, `No inventory row ${params.productId}`, 'productId');
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    const pid = (client as unknown as { processID?: number }).processID;
    return {
      detail: { table: 'inventory', productId: params.productId, backendPid: pid },
      durationSeconds: params.seconds,
      heal: async () => {
        await client.query('rollback').catch(() => {});
        await client.end().catch(() => {});
      },
    };
  },
};

/** Every built-in kind, registered by default. */
export const BUILT_IN_FAULTS: readonly FaultKind<never>[] = [
  killPostgres,
  freeze('postgres', (t) => t.postgres),
  freeze('dynamodb', (t) => t.dynamodb),
  killWorker,
  holdLock,
  ...LAMBDA_FAULTS,
] as unknown as FaultKind<never>[];
