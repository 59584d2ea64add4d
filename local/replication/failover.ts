/**
 * The local cloud's Postgres as a replica set that can fail over, as an RDS Multi-AZ instance does:
 *
 * - clients reach the primary through the **endpoint link** (`DATABASE_URL` points at it, as RDS'
 *   endpoint name does); after a promotion it forwards to the new primary and cuts the old
 *   connections, so the shop's pool (`shared/adapters/postgres.ts`) reconnects by itself;
 * - the **reader link** (`DATABASE_READER_URL`) reaches the standby, or the primary while there is none;
 * - the standby streams through the **replication link**, which the `lag` and `partition` faults act on.
 *
 * Fault kinds (registered on the cloud's one {@link FaultController}): `kill-primary`, `promote`,
 * `synchronous-replication`, `rebuild-standby`; `lag` and `partition` act on named {@link Link}s.
 * A promotion is remembered in `<stateDir>/postgres-promoted`: the next start runs on the promoted
 * cluster ({@link adoptPromotedPrimary}) and builds a new standby from it.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import pg from 'pg';
import type { PostgresEmulator } from '../emulators/types.ts';
import { FaultError, type FaultKind, seconds, text } from '../faults/types.ts';
import { type Link, startLink } from './link.ts';
import { type PostgresStandby, STANDBY_NAME, startPostgresStandby } from './postgres.ts';

const PROMOTED_MARKER = 'postgres-promoted';

/** A Postgres server of the set: the emulator (generation 0) or a promoted standby. */
interface Server {
  url: string;
  port: number;
  dataDir: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
  /** Starts it again in place (after a kill without promotion: crash recovery). */
  restart?(): Promise<void>;
}

const portOf = (url: string) => Number(new URL(url).port);
const withPort = (url: string, port: number) => {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
};

/**
 * Before the emulators start: when the last run promoted its standby, the promoted cluster becomes
 * `postgres/data` (the old primary's is kept as `postgres/data.before-failover`, the evidence) and
 * the standby is rebuilt from it.
 */
export async function adoptPromotedPrimary(stateDir: string, log: (line: string) => void): Promise<void> {
  const marker = path.join(stateDir, PROMOTED_MARKER);
  if (!existsSync(marker)) return;
  const promoted = (await readFile(marker, 'utf8')).trim();
  const primaryData = path.join(stateDir, 'postgres', 'data');
  if (existsSync(path.join(promoted, 'PG_VERSION'))) {
    log(`the last run failed over: running on the promoted cluster ${promoted}`);
    await rm(`${primaryData}.before-failover`, { recursive: true, force: true });
    if (existsSync(primaryData)) await rename(primaryData, `${primaryData}.before-failover`);
    await rename(promoted, primaryData);
  }
  for (const dir of await standbyDirs(stateDir)) await rm(dir, { recursive: true, force: true });
  await rm(marker, { force: true });
}

async function standbyDirs(stateDir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(stateDir))
    .filter((name) => name === 'postgres-standby' || name.startsWith('postgres-standby.'))
    .map((name) => path.join(stateDir, name));
}

export interface ReplicaSetOptions {
  stateDir: string;
  primary: PostgresEmulator;
  applyDelayMs?: number;
  log: (entry: Record<string, unknown>) => void;
}

/**
 * The primary, its standby and the three links. Start with {@link startReplicaSet}.
 */
export class PostgresReplicaSet {
  readonly endpoint: Link;
  readonly reader: Link;
  readonly replication: Link;
  #primary: Server;
  #standby: PostgresStandby | undefined;
  #generation = 0;
  #promotions = 0;
  readonly #options: ReplicaSetOptions;

  constructor(options: ReplicaSetOptions, links: { endpoint: Link; reader: Link; replication: Link }) {
    this.#options = options;
    this.endpoint = links.endpoint;
    this.reader = links.reader;
    this.replication = links.replication;
    const emulator = options.primary;
    this.#primary = {
      url: emulator.url,
      port: portOf(emulator.url),
      dataDir: path.join(options.stateDir, 'postgres', 'data'),
      get pid() {
        return emulator.pid;
      },
      stop: () => emulator.stop(),
      restart: emulator.restart ? () => emulator.restart?.() as Promise<void> : undefined,
    };
  }

  /** The clients' URL: the endpoint link, with the primary's credentials. */
  get url(): string {
    return withPort(this.#primary.url, this.endpoint.port);
  }
  get readerUrl(): string {
    return withPort(this.#primary.url, this.reader.port);
  }
  /** The current primary's own URL (not through the link). */
  get primaryUrl(): string {
    return this.#primary.url;
  }
  get standby(): PostgresStandby | undefined {
    return this.#standby;
  }
  get promotions(): number {
    return this.#promotions;
  }

  /** What `kill-postgres`, `freeze-postgres` and `hold-lock` act on: the current primary. */
  faultTarget(): { readonly pid?: number | undefined; restart?(): Promise<void>; readonly url: string } {
    const set = this;
    return {
      get pid() {
        return set.#primary.pid;
      },
      get url() {
        return set.#primary.url;
      },
      get restart() {
        return set.#primary.restart;
      },
    };
  }

  /** Builds a standby of the current primary (base backup) and points the reader at it. */
  async rebuildStandby(): Promise<PostgresStandby> {
    if (this.#standby?.pid) throw new FaultError(409, 'There is a standby already');
    // Lag and partition stay with the faults that set them.
    this.replication.retarget(this.#primary.port);
    const dir = this.#generation === 0 ? 'postgres-standby' : `postgres-standby.${this.#generation}`;
    const standby = await startPostgresStandby({
      primaryUrl: this.#primary.url,
      primaryDataDir: this.#primary.dataDir,
      stateDir: path.join(this.#options.stateDir, dir),
      applyDelayMs: this.#options.applyDelayMs,
      replicationPort: this.replication.port,
      onLog: (line) => this.#options.log({ source: 'postgres-standby', message: line }),
    });
    this.#standby = standby;
    this.reader.retarget(standby.port);
    return standby;
  }

  /** SIGKILL of the primary's whole process group: the crash of its machine. */
  killPrimary(): number {
    const pid = this.#primary.pid;
    if (!pid) throw new FaultError(409, 'The primary is not running');
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      process.kill(pid, 'SIGKILL');
    }
    // The host and its network go down together: what the replication link still carried is lost.
    this.replication.retarget(this.replication.targetPort);
    return pid;
  }

  /**
   * Promotes the standby: fences the old primary (SIGKILL if it still runs: never two primaries),
   * `pg_promote()`, then the endpoint and reader links follow it. The standby's data directory is
   * the primary's from now on (and after a restart of the cloud).
   */
  async promote(): Promise<{ promotedPort: number; fencedPid?: number; promotedInMs: number }> {
    const standby = this.#standby;
    if (!standby?.pid) throw new FaultError(409, 'There is no standby to promote (rebuild-standby first)');
    const started = performance.now();
    const fencedPid = this.#primary.pid ? this.killPrimary() : undefined;
    this.endpoint.cut(); // nobody reaches a half-promoted server
    // The old primary's replication connection is gone; what the standby has received is all there is.
    await standby.promote();
    const old = this.#primary;
    this.#primary = {
      url: standby.url,
      port: standby.port,
      dataDir: standby.dataDir,
      get pid() {
        return standby.pid;
      },
      stop: () => standby.stop(),
      restart: () => standby.restart(),
    };
    this.#standby = undefined;
    this.#generation += 1;
    this.#promotions += 1;
    this.endpoint.retarget(standby.port);
    this.endpoint.mend();
    this.reader.retarget(standby.port);
    await writeFile(path.join(this.#options.stateDir, PROMOTED_MARKER), `${standby.dataDir}\n`);
    await old.stop().catch(() => {});
    return { promotedPort: standby.port, fencedPid, promotedInMs: Math.round(performance.now() - started) };
  }

  /** Sets (or, with `undefined`, resets) synchronous replication on the primary, without a restart. */
  async synchronous(level: 'on' | 'remote_apply' | undefined): Promise<void> {
    const client = new pg.Client({ connectionString: this.#primary.url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      if (level) {
        await client.query(`alter system set synchronous_standby_names = '${STANDBY_NAME}'`);
        await client.query(`alter system set synchronous_commit = '${level}'`);
      } else {
        await client.query('alter system reset synchronous_standby_names');
        await client.query('alter system reset synchronous_commit');
      }
      await client.query('select pg_reload_conf()');
    } finally {
      await client.end().catch(() => {});
    }
  }

  async stop(): Promise<void> {
    await this.#standby?.stop().catch(() => {});
    await Promise.all([this.endpoint.close(), this.reader.close(), this.replication.close()]);
    if (this.#generation > 0) await this.#primary.stop().catch(() => {});
  }

  /** The fault kinds acting on this set. */
  faultKinds(): FaultKind<never>[] {
    const set = this;
    const killPrimary: FaultKind<{ downSeconds: number }> = {
      name: 'kill-primary',
      description:
        'SIGKILL of the Postgres primary (the crash of its host). Without a `promote` within `downSeconds`, it is restarted then (crash recovery)',
      parameters: { downSeconds: 'how long it stays down unless promoted away, 1-600 (default 30)' },
      parse: (p) => ({ downSeconds: seconds(p, 'downSeconds', 30) }),
      async inject(_targets, params) {
        const generation = set.#promotions;
        const pid = set.killPrimary();
        return {
          detail: { pid },
          durationSeconds: params.downSeconds,
          heal: async () => {
            // Promoted meanwhile: the killed server is retired (a new standby is rebuilt, not it).
            if (set.#promotions === generation && !set.#primary.pid) await set.#primary.restart?.();
          },
        };
      },
    };
    const promote: FaultKind<Record<string, never>> = {
      name: 'promote',
      description:
        'Promotes the Postgres standby (pg_promote) after fencing the primary; the endpoint clients use follows it',
      parameters: {},
      parse: () => ({}),
      async inject() {
        return { detail: await set.promote(), heal: async () => {} };
      },
    };
    const sync: FaultKind<{ seconds: number; level: 'on' | 'remote_apply' }> = {
      name: 'synchronous-replication',
      description:
        'Synchronous replication for `seconds`: the primary acknowledges a commit once the standby has it (synchronous_standby_names)',
      parameters: {
        seconds: 'how long, 1-600 (default 60)',
        level: '`on` (standby flushed the WAL, default) or `remote_apply` (standby applied it)',
      },
      parse: (p) => {
        const level = p.level ?? 'on';
        if (level !== 'on' && level !== 'remote_apply')
          throw new FaultError(400, 'level must be on or remote_apply', 'level');
        return { seconds: seconds(p, 'seconds', 60), level };
      },
      async inject(_targets, params) {
        if (!set.#standby?.pid) throw new FaultError(409, 'There is no standby to replicate to');
        await set.synchronous(params.level);
        const generation = set.#promotions;
        return {
          detail: { standby: STANDBY_NAME, synchronous_commit: params.level },
          durationSeconds: params.seconds,
          heal: async () => {
            // After a promotion the setting stayed with the retired primary.
            if (set.#promotions === generation && set.#primary.pid) await set.synchronous(undefined);
          },
        };
      },
    };
    const rebuild: FaultKind<Record<string, never>> = {
      name: 'rebuild-standby',
      description:
        'Builds a new Postgres standby of the current primary (base backup) and points the reader at it',
      parameters: {},
      parse: () => ({}),
      async inject() {
        const standby = await set.rebuildStandby();
        return { detail: { port: standby.port, dataDir: standby.dataDir }, heal: async () => {} };
      },
    };
    return [killPrimary, promote, sync, rebuild] as unknown as FaultKind<never>[];
  }
}

/**
 * Starts the links and the standby for `primary`.
 *
 * @example
 * const set = await startReplicaSet({ stateDir, primary: emulators.postgres, log });
 * env.DATABASE_URL = set.url;
 */
export async function startReplicaSet(options: ReplicaSetOptions): Promise<PostgresReplicaSet> {
  const primaryPort = portOf(options.primary.url);
  const links = {
    endpoint: await startLink({ name: 'postgres-endpoint', targetPort: primaryPort }),
    reader: await startLink({ name: 'postgres-reader', targetPort: primaryPort }),
    replication: await startLink({ name: 'postgres-replication', targetPort: primaryPort }),
  };
  const set = new PostgresReplicaSet(options, links);
  try {
    await set.rebuildStandby();
  } catch (error) {
    await set.stop();
    throw error;
  }
  return set;
}

/** Links the `lag` and `partition` kinds can act on, by name. */
export type Links = Map<string, Link>;

/** `lag` and `partition` on the named links (the Postgres replication link, the regions' link...). */
export function linkFaultKinds(links: Links): FaultKind<never>[] {
  const linkOf = (params: Record<string, unknown>) => {
    const name = params.link === undefined ? 'postgres-replication' : text(params, 'link');
    if (!links.has(name))
      throw new FaultError(400, `link must be one of ${[...links.keys()].join(', ')}`, 'link');
    return name;
  };
  const lag: FaultKind<{ link: string; ms: number; seconds: number }> = {
    name: 'lag',
    description: 'Delays every byte on a link by `ms` each way for `seconds` (replication falls behind)',
    parameters: {
      link: `which link: ${[...links.keys()].join(', ')} (default postgres-replication)`,
      ms: 'delay each way, 1-10000 ms (default 100)',
      seconds: 'how long, 1-600 (default 30)',
    },
    parse: (p) => {
      const ms = p.ms ?? 100;
      if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 10_000)
        throw new FaultError(400, 'ms must be a whole number from 1 to 10000', 'ms');
      return { link: linkOf(p), ms, seconds: seconds(p, 'seconds', 30) };
    },
    async inject(_targets, params) {
      const link = links.get(params.link) as Link;
      link.lag(params.ms);
      return {
        detail: { link: params.link, port: link.port },
        durationSeconds: params.seconds,
        heal: async () => link.lag(0),
      };
    },
  };
  const partition: FaultKind<{ link: string; seconds: number }> = {
    name: 'partition',
    description: 'Cuts a link for `seconds`: connections reset, new ones refused, until healed',
    parameters: {
      link: `which link: ${[...links.keys()].join(', ')} (default postgres-replication)`,
      seconds: 'how long, 1-600 (default 10)',
    },
    parse: (p) => ({ link: linkOf(p), seconds: seconds(p, 'seconds', 10) }),
    async inject(_targets, params) {
      const link = links.get(params.link) as Link;
      if (link.isCut) throw new FaultError(409, `${params.link} is already cut`, 'link');
      link.cut();
      return {
        detail: { link: params.link, port: link.port },
        durationSeconds: params.seconds,
        heal: async () => link.mend(),
      };
    },
  };
  return [lag, partition] as unknown as FaultKind<never>[];
}
