/**
 * Local clouds for the benchmark rows: `local/cli/start.ts` in a child process (so the bench's own
 * client load does not share an event loop with the gateway), with its state in a scratch directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { EndpointsFile } from '../../local/cloud/local-cloud.ts';
import { ensureSigningKey } from '../../local/cloud/signing-key.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signToken } from '../../shared/auth/jwt.ts';
import { median } from './row.ts';

export interface RunningCloud {
  url: string;
  child: ChildProcess;
  stateDir: string;
  /** Milliseconds from spawn to the `ready` line, and the line itself. */
  readyMs: number;
  readyLine: string;
  /** CPU seconds the start took (the whole process tree, the synth's finished children included). */
  readyCpuSeconds: number;
  endpoints: { dynamodb: string; s3: string };
  /** The Postgres it uses, when the caller gave one (`DATABASE_URL`). */
  databaseUrl?: string;
  /** Every JSON log line it printed (only without `quiet`): platform.report records and the like. */
  logs: Record<string, unknown>[];
  token(sub: string, admin?: boolean): Promise<string>;
  /** RSS of the whole process tree (local cloud, workers, emulators) in MB, and its process count. */
  rss(): ReturnType<typeof treeRss>;
  stop(): Promise<void>;
}

export async function startCloud(options: {
  root: string;
  stateDir: string;
  fresh?: boolean;
  databaseUrl?: string;
  /** Keep log lines (for platform.report records); default quiet. */
  collectLogs?: boolean;
}): Promise<RunningCloud> {
  const started = performance.now();
  const args = ['local/cli/start.ts', '--state-dir', options.stateDir, '--port', '0'];
  if (!options.collectLogs) args.push('--quiet');
  if (options.fresh) args.push('--fresh');
  const child = spawn(process.execPath, args, {
    cwd: options.root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: options.databaseUrl },
  });
  const logs: Record<string, unknown>[] = [];
  let output = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const ready = await new Promise<{ url: string; line: string }>((resolve, reject) => {
    let pending = '';
    child.stdout?.on('data', (d: Buffer) => {
      pending += d.toString();
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('{')) {
          if (options.collectLogs) logs.push(JSON.parse(line) as Record<string, unknown>);
        } else {
          output += `${line}\n`;
          const m = /^ready (http:\/\/\S+) /.exec(line);
          if (m) resolve({ url: m[1] as string, line });
        }
        nl = pending.indexOf('\n');
      }
    });
    child.once('exit', (code) => reject(new Error(`local cloud exited with ${code}: ${output}${stderr}`)));
  });
  const readyMs = performance.now() - started;
  const readyCpuSeconds = treeCpuSeconds(child.pid as number);
  const endpoints = (
    JSON.parse(readFileSync(path.join(options.stateDir, 'endpoints.json'), 'utf8')) as EndpointsFile
  ).endpoints ?? { dynamodb: '', s3: '' };
  let key: Awaited<ReturnType<typeof ensureSigningKey>> | undefined;
  return {
    url: ready.url,
    child,
    stateDir: options.stateDir,
    readyMs,
    readyLine: ready.line,
    readyCpuSeconds,
    endpoints,
    databaseUrl: options.databaseUrl,
    logs,
    async token(sub, admin = false) {
      key ??= await ensureSigningKey(path.join(options.stateDir, 'keys'));
      return signToken(
        key.privateJwk,
        { sub, groups: admin ? ['admin'] : [] },
        { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE },
      );
    },
    rss: () => treeRss(child.pid as number),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One process of a tree: RSS and PSS in kB, and its command line. */
export interface TreeProcess {
  pid: number;
  /** Resident set: every page it maps that is in memory, shared ones included. */
  rssKb: number;
  /**
   * Proportional set (`/proc/<pid>/smaps_rollup`): each shared page divided among the processes that
   * map it, so a sum over processes counts the Node binary, Postgres' shared buffers and libraries
   * once, not once per worker or backend. Its RSS when the kernel does not say.
   */
  pssKb: number;
  cmdline: string;
}

/** A process and all its descendants (Linux /proc): pid, RSS and PSS in kB and command line of each. */
export function processTree(rootPid: number): TreeProcess[] {
  const children = new Map<number, number[]>();
  const info = new Map<number, TreeProcess>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const pid = Number(entry);
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let pssKb = rssKb;
      try {
        pssKb = Number(
          /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8'))?.[1] ?? rssKb,
        );
      } catch {
        // no smaps_rollup (an old kernel, or not ours to read): its RSS
      }
      info.set(pid, { pid, rssKb, pssKb, cmdline });
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // the process ended while we looked
    }
  }
  const tree: TreeProcess[] = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop() as number;
    const p = info.get(pid);
    if (p) tree.push(p);
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds (user + system) a process tree has used: each process's own and those of its children
 * that have ended (Linux /proc/<pid>/stat fields 14–17, in clock ticks of 1/100 s).
 */
export function treeCpuSeconds(rootPid: number): number {
  return Object.values(treeCpuByKind(rootPid)).reduce((sum, seconds) => sum + seconds, 0);
}

/**
 * {@link treeCpuSeconds} split by what each process is (from its command line): `DynamoDB Local`,
 * `Postgres`, `Lambda workers`, `local cloud` (its main process: gateway, replication proxy, event
 * bus), `this process` (`rootPid` itself) and `other`. A process's ended children count with it.
 */
export function treeCpuByKind(rootPid: number): Record<string, number> {
  const seconds: Record<string, number> = {};
  for (const p of processTree(rootPid)) {
    const stat = procStat(p.pid);
    if (!stat) continue; // ended meanwhile
    const kind = processKind(p, rootPid);
    seconds[kind] = (seconds[kind] ?? 0) + (stat.ticks + stat.childTicks) / 100;
  }
  return seconds;
}

/**
 * A process's `/proc/<pid>/stat`: its parent, its own CPU (utime + stime, fields 14–15) and that of
 * its children that have ended (cutime + cstime, 16–17), in clock ticks of 1/100 s, and its start
 * time (22), which tells a reused pid apart. Undefined once it has ended.
 */
function procStat(
  pid: number,
): { ppid: number; ticks: number; childTicks: number; started: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces), which ends with the last ')';
  // fields[0] is field 3 (state).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    ppid: Number(f[1]),
    ticks: Number(f[11] ?? 0) + Number(f[12] ?? 0),
    childTicks: Number(f[13] ?? 0) + Number(f[14] ?? 0),
    started: f[19] ?? '',
  };
}

/**
 * CPU seconds by kind of process (as {@link treeCpuByKind}) used since the meter was made, from
 * samples of the tree every `intervalMs`. Unlike {@link treeCpuByKind}, a process that ends in the
 * interval still counts as what it was, with its last sample: an evicted Lambda worker's CPU would
 * otherwise move to its parent's "children that ended" (`cutime`) and show as the local cloud's,
 * all of it, also what it used before the interval. Only processes seen by a sample count (one that
 * lives less than `intervalMs` may be missed); each counts its own CPU, not its children's.
 *
 * @example
 * const meter = new TreeCpuMeter(process.pid);
 * await work();
 * const byKind = meter.read(); // { 'DynamoDB Local': 1.2, 'Lambda workers': 0.8, ... }
 * meter.stop();
 */
export class TreeCpuMeter {
  readonly #rootPid: number;
  /** Per process (pid and start time, as pids are reused): its kind, first and last CPU ticks seen. */
  readonly #seen = new Map<string, { kind: string; first: number; last: number }>();
  readonly #timer: NodeJS.Timeout;

  constructor(rootPid: number, intervalMs = 200) {
    this.#rootPid = rootPid;
    this.#sample(true);
    this.#timer = setInterval(() => this.#sample(false), intervalMs);
    this.#timer.unref();
  }

  /** CPU seconds by kind since the meter was made (samples the tree first). */
  read(): Record<string, number> {
    this.#sample(false);
    const seconds: Record<string, number> = {};
    for (const p of this.#seen.values()) seconds[p.kind] = (seconds[p.kind] ?? 0) + (p.last - p.first) / 100;
    return seconds;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(first: boolean): void {
    // Only /proc/<pid>/stat of every process (ppid, CPU, start time): cheap enough every 200 ms.
    const stats = new Map<number, NonNullable<ReturnType<typeof procStat>>>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = procStat(Number(entry));
      if (stat) stats.set(Number(entry), stat); // else ended meanwhile: its last sample stands
    }
    const children = new Map<number, number[]>();
    for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    const stack = [this.#rootPid];
    while (stack.length) {
      const pid = stack.pop() as number;
      stack.push(...(children.get(pid) ?? []));
      const stat = stats.get(pid);
      if (!stat) continue;
      const id = `${pid}:${stat.started}`;
      const known = this.#seen.get(id);
      if (known) {
        known.last = stat.ticks;
        continue;
      }
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        continue;
      }
      const kind = processKind({ pid, rssKb: 0, pssKb: 0, cmdline }, this.#rootPid);
      // A process started after the meter counts from 0; one already running, from now.
      this.#seen.set(id, { kind, first: first ? stat.ticks : 0, last: stat.ticks });
    }
  }
}

function processKind(p: TreeProcess, rootPid: number): string {
  if (p.pid === rootPid) return 'this process';
  if (/\bjava\b.*DynamoDBLocal/.test(p.cmdline)) return 'DynamoDB Local';
  if (/postgres/.test(p.cmdline)) return 'Postgres';
  if (/local-lambda-worker|lambda\/worker\.ts/.test(p.cmdline)) return 'Lambda workers';
  if (/local\/cli\/start\.ts/.test(p.cmdline)) return 'local cloud';
  return 'other';
}

/**
 * Memory of a process tree in MB: `mb`, the sum of PSS (what the tree takes from the machine, shared
 * pages counted once), and `rssMb`, the sum of RSS (shared pages counted in every process that maps
 * them), with its process count.
 */
export function treeRss(rootPid: number): {
  mb: number;
  rssMb: number;
  processes: number;
  /** PSS in MB and process count by kind of process (as {@link treeCpuByKind} names them). */
  byKind: Record<string, { mb: number; processes: number }>;
} {
  const tree = processTree(rootPid);
  const byKind: Record<string, { mb: number; processes: number }> = {};
  for (const p of tree) {
    const name = processKind(p, rootPid);
    const kind = byKind[name] ?? { mb: 0, processes: 0 };
    kind.mb += p.pssKb / 1024;
    kind.processes++;
    byKind[name] = kind;
  }
  return {
    mb: tree.reduce((n, p) => n + p.pssKb, 0) / 1024,
    rssMb: tree.reduce((n, p) => n + p.rssKb, 0) / 1024,
    processes: tree.length,
    byKind,
  };
}

/** A small JSON-over-HTTP client for the shop's API. */
export async function call<T = Record<string, unknown>>(
  url: string,
  method: string,
  route: string,
  options: {
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
    expect?: number;
    /** Retries after a 5xx (a cold start that timed out on a loaded machine); only for idempotent calls. */
    retries?: number;
    /** Counts the retries made. */
    onRetry?: () => void;
  } = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await callOnce<T>(url, method, route, options);
    } catch (error) {
      // A 5xx, or a connection refused or reset by a loaded local cloud (fetch's TypeError).
      const retriable = /: 5\d\d /.test((error as Error).message) || error instanceof TypeError;
      if (attempt >= (options.retries ?? 0) || !retriable) throw error;
      options.onRetry?.();
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
    }
  }
}

async function callOnce<T>(
  url: string,
  method: string,
  route: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; expect?: number },
): Promise<T> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      'content-type': 'application/json',
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  if (options.expect ? response.status !== options.expect : response.status >= 300)
    throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * p50s of what the local cloud logged about some requests: the gateway's latency (its `request`
 * lines that `isRequest` picks) and the duration of the function named like `functionName` (its
 * `platform.report` lines). Either is absent when no such line was logged.
 *
 * @example
 * const { gatewayMs, functionMs } = loggedStages(cloud.logs.slice(from), (l) => l.method === 'POST', /OrdersApi/);
 */
export function loggedStages(
  logs: Record<string, unknown>[],
  isRequest: (line: Record<string, unknown>) => boolean,
  functionName: RegExp,
): { gatewayMs?: number; functionMs?: number } {
  const gateway = logs
    .filter((l) => l.source === 'apigateway' && l.message === 'request' && isRequest(l))
    .map((l) => Number(l.latencyMs));
  const durations = logs
    .filter((l) => l.type === 'platform.report')
    .map((l) => l.record as { functionName?: string; metrics?: { durationMs?: number } })
    .filter((r) => functionName.test(r.functionName ?? ''))
    .map((r) => Number(r.metrics?.durationMs));
  return {
    ...(gateway.length ? { gatewayMs: median(gateway) } : {}),
    ...(durations.length ? { functionMs: median(durations) } : {}),
  };
}
