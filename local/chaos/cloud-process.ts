/**
 * A local cloud run as a child process (`node local/cli/start.ts`), so the chaos harness can do to
 * it what a crash does: SIGKILL of the whole process tree, then a restart on the same state.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { controlFetch } from '../cli/endpoints.ts';
import type { EndpointsFile } from '../cloud/local-cloud.ts';

export interface CloudProcessOptions {
  root: string;
  stateDir: string;
  /** Preferred API port (0: any). */
  port?: number;
  workerIdleSeconds?: number;
  /** Give up waiting for "ready" after this long (a cold synth takes minutes on a busy machine). */
  startTimeoutMs?: number;
  /** What this start is, in its log's name (`<stateDir>/logs/cloud-<n>-<label>.log`). @default 'start' */
  label?: string;
}

/** Lines of the cloud's output kept in memory, quoted when it fails to start. */
const TAIL_LINES = 60;

const live = new Set<CloudProcess>();
let hooked = false;

/** Every process whose parent chain leads to `pid` (from /proc), `pid` first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const tree: number[] = [];
  const walk = (p: number) => {
    tree.push(p);
    for (const child of children.get(p) ?? []) walk(child);
  };
  walk(pid);
  return tree;
}

/** Resident memory of a process tree in MB (VmRSS summed). */
export function treeRssMB(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += Number(match?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return Math.round(kb / 1024);
}

export class CloudProcess {
  readonly options: CloudProcessOptions;
  readonly child: ChildProcess;
  apiUrl = '';
  endpoints!: EndpointsFile & { stateDir: string };
  /** This start's stdout and stderr, kept after the process is gone (`<stateDir>/logs/`). */
  readonly logFile: string;
  readonly #exited: Promise<void>;
  readonly #tail: string[] = [];

  private constructor(options: CloudProcessOptions) {
    this.options = options;
    const args = [
      '--disable-warning=ExperimentalWarning',
      'local/cli/start.ts',
      '--port',
      String(options.port ?? 0),
      '--state-dir',
      options.stateDir,
      '--worker-idle-seconds',
      String(options.workerIdleSeconds ?? 5),
    ];
    this.child = spawn(process.execPath, args, {
      cwd: options.root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: '' },
    });
    this.logFile = nextLogFile(options.stateDir, options.label ?? 'start');
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    const keep = (chunk: Buffer) => {
      const lines = chunk
        .toString()
        .split('\n')
        .filter((l) => l.trim() !== '');
      this.#tail.push(...lines.map((l) => l.slice(0, 2_000)));
      this.#tail.splice(0, Math.max(0, this.#tail.length - TAIL_LINES));
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    live.add(this);
    if (!hooked) {
      hooked = true;
      process.once('exit', () => {
        for (const cloud of live) cloud.killTree();
      });
    }
  }

  /** Starts a local cloud and resolves once it prints `ready`. */
  static async start(options: CloudProcessOptions): Promise<CloudProcess> {
    const cloud = new CloudProcess(options);
    const timeoutMs = options.startTimeoutMs ?? 600_000;
    const ready = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(
        () => reject(new Error(`the local cloud was not ready in ${timeoutMs} ms${cloud.#quote()}`)),
        timeoutMs,
      );
      cloud.child.stdout?.on('data', (chunk: Buffer) => {
        buffer = (buffer + chunk.toString()).slice(-10_000);
        const url = /^ready (http:\/\/\S+)/m.exec(buffer)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      });
      cloud.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        // The pipes may still hold the last words (the reason) when 'exit' fires.
        setTimeout(
          () =>
            reject(
              new Error(`the local cloud exited (${code ?? signal}) before it was ready${cloud.#quote()}`),
            ),
          200,
        );
      });
    }).catch(async (error) => {
      cloud.killTree();
      await cloud.#exited;
      throw error;
    });
    cloud.apiUrl = ready;
    cloud.endpoints = {
      stateDir: options.stateDir,
      ...(JSON.parse(readFileSync(path.join(options.stateDir, 'endpoints.json'), 'utf8')) as EndpointsFile),
    };
    return cloud;
  }

  /** The log's path and its last lines, for an error message. */
  #quote(): string {
    return `; log kept in ${this.logFile}; its last lines:\n${this.#tail.map((l) => `  | ${l}`).join('\n')}`;
  }

  /** Whether the cloud's main process still runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Calls the control API with the state directory's token; throws on a non-2xx answer. */
  async control<T = unknown>(route: string, init: RequestInit = {}): Promise<T> {
    const response = await controlFetch(this.endpoints, route, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} /_local${route}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Whether the control API answers within a few seconds (the cloud is up, not just its process). */
  async answers(): Promise<boolean> {
    try {
      const response = await controlFetch(this.endpoints, '/events', { signal: AbortSignal.timeout(5_000) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  rssMB(): number {
    return treeRssMB(this.pid);
  }

  /**
   * The crash: every process of the tree (the cloud, its workers, the emulators and their
   * watchdogs, Postgres' backends) stopped at once with SIGSTOP, then SIGKILLed, so none of them
   * runs a single instruction of cleanup.
   */
  killTree(): void {
    // Stopped processes cannot fork: scan again until the tree is complete, so a child forked
    // between a scan and its parent's SIGSTOP (a new Postgres backend, a new worker) is not left behind.
    const tree = new Set<number>();
    for (let round = 0; round < 20; round++) {
      const found = processTree(this.pid).filter((p) => !tree.has(p));
      if (found.length === 0) break;
      for (const p of found) {
        tree.add(p);
        signal(p, 'SIGSTOP');
      }
    }
    for (const p of tree) signal(p, 'SIGKILL');
    live.delete(this);
  }

  async crash(): Promise<void> {
    this.killTree();
    await this.#exited;
  }

  /** A clean stop (SIGTERM: faults healed, emulators shut down); SIGKILL of the tree after 60 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      live.delete(this);
      return;
    }
    signal(this.pid, 'SIGTERM');
    const timer = setTimeout(() => this.killTree(), 60_000);
    await this.#exited;
    clearTimeout(timer);
    live.delete(this);
  }
}

/** `<stateDir>/logs/cloud-<n>-<label>.log`, n counting this state directory's starts from 1. */
function nextLogFile(stateDir: string, label: string): string {
  const dir = path.join(stateDir, 'logs');
  mkdirSync(dir, { recursive: true });
  let n = readdirSync(dir).filter((f) => f.startsWith('cloud-')).length + 1;
  while (existsSync(path.join(dir, `cloud-${n}-${label}.log`))) n++;
  return path.join(dir, `cloud-${n}-${label}.log`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone
  }
}
