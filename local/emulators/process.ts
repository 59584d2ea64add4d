/**
 * Process supervision shared by the emulators.
 *
 * Every emulator process is spawned in its own process group (`detached`, i.e. `setsid`), so:
 * - a Ctrl-C in the terminal reaches only the parent, which then stops the emulators in order
 *   (Postgres gets a clean fast shutdown instead of a signal racing the parent's own shutdown);
 * - `stop()` can signal the whole group, so nothing the emulator forked survives it.
 *
 * Orphans: on Linux, children do not die with their parent and `prctl(PR_SET_PDEATHSIG)` is not
 * reachable from Node. Two layers cover this:
 * 1. A `process.on('exit')` hook sends each live emulator its stop signal when the parent exits
 *    normally (`process.exit()`, end of the event loop, uncaught exception).
 * 2. A watchdog per emulator for the cases where no JavaScript runs (SIGKILL, OOM kill, a fatal
 *    signal without a handler): a tiny `/bin/sh` script that blocks reading a pipe from the parent.
 *    `stop()` writes "release" to it and it exits quietly; if the parent dies, the kernel closes the
 *    pipe, the read hits end-of-file and the watchdog stops the emulator (stop signal, then SIGKILL of
 *    the group after a grace period). It is event-driven (no polling) and costs ~1 MB, not a Node.
 *
 * Node children (the s3rver process) watch their IPC channel instead and exit on `disconnect`.
 *
 * Windows is not supported (no process groups or `/bin/sh`); the local cloud targets Linux and macOS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ownsListeningPort } from './ports.ts';
import type { LogFn } from './types.ts';

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. `ENOENT`: command not found). */
  error?: NodeJS.ErrnoException;
}

/** Options for {@link ManagedProcess}. */
export interface ManagedProcessOptions {
  /** Emulator name, used in errors. */
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user/group (used to run Postgres as `postgres` when we are root). */
  uid?: number;
  gid?: number;
  /** Open an IPC channel (fd 3) to a Node child. */
  ipc?: boolean;
  onLog?: LogFn;
  /** Signal for a graceful stop. @defaultValue `'SIGTERM'` */
  stopSignal?: NodeJS.Signals;
  /** Send the stop signal to the group leader only (Postgres: the postmaster shuts its children down). */
  signalLeaderOnly?: boolean;
  /** Grace period after the stop signal before the whole group is SIGKILLed. @defaultValue `5000` */
  stopTimeoutMs?: number;
}

/** Thrown when an emulator cannot be started; `output` holds its last lines of output. */
export class EmulatorStartError extends Error {
  /** Which emulator failed: `dynamodb`, `s3` or `postgres`. */
  readonly emulator: string;
  /** The emulator's last lines of output (also included in the message). */
  readonly output: readonly string[];

  constructor(emulator: string, message: string, output: readonly string[] = [], options?: ErrorOptions) {
    const tail =
      output.length > 0 ? `\nLast output of ${emulator}:\n${output.map((l) => `  ${l}`).join('\n')}` : '';
    super(`${message}${tail}`, options);
    this.name = 'EmulatorStartError';
    this.emulator = emulator;
    this.output = output;
  }
}

/** A readiness probe throws this to fail the start at once instead of retrying until the deadline. */
export class FatalProbeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FatalProbeError';
  }
}

const OUTPUT_LINES = 30;
const canUseGroups = process.platform !== 'win32';

/**
 * Blocks on stdin. A line means "released by the parent": exit quietly. End-of-file means the parent
 * died: send the stop signal, wait up to $4 tenths of a second for the leader to exit, then SIGKILL
 * the group. A zombie counts as exited (orphans are reaped by init, which may take its time).
 * Arguments: $1 leader pid (= process group id), $2 stop signal (TERM), $3 'group' | 'leader', $4 grace.
 */
const WATCHDOG_SCRIPT = `
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  read -r stat < "/proc/$1/stat" || return 1
  case "\${stat##*) }" in Z*) return 1 ;; esac
  return 0
}
if read -r _; then exit 0; fi
if [ "$3" = group ]; then kill -s "$2" -- "-$1" 2>/dev/null; else kill -s "$2" "$1" 2>/dev/null; fi
i=0
while alive "$1"; do
  if [ "$i" -ge "$4" ]; then kill -s KILL -- "-$1" 2>/dev/null; exit 0; fi
  sleep 0.1
  i=$((i + 1))
done
exit 0
`;

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const proc of live) proc.signalSync();
  });
}

/**
 * A supervised child process: own process group, output split into lines (forwarded to `onLog`
 * and kept for error messages), exit tracking, watchdog and an idempotent {@link stop}.
 */
export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (or failed to start). Never rejects. */
  readonly exited: Promise<ExitInfo>;
  #exit: ExitInfo | undefined;
  readonly #output: string[] = [];
  readonly #stopSignal: NodeJS.Signals;
  readonly #leaderOnly: boolean;
  readonly #stopTimeoutMs: number;
  #watchdog: ChildProcess | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.#stopSignal = options.stopSignal ?? 'SIGTERM';
    this.#leaderOnly = options.signalLeaderOnly ?? false;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      uid: options.uid,
      gid: options.gid,
      detached: canUseGroups,
      stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.child = child;
    const onLine = (line: string) => {
      this.#output.push(line);
      if (this.#output.length > OUTPUT_LINES) this.#output.shift();
      options.onLog?.(line);
    };
    if (child.stdout) readLines(child.stdout, onLine);
    if (child.stderr) readLines(child.stderr, onLine);

    this.exited = new Promise((resolve) => {
      const finish = (info: ExitInfo) => {
        if (this.#exit) return;
        this.#exit = info;
        live.delete(this);
        this.#releaseWatchdog();
        resolve(info);
      };
      child.on('error', (error: NodeJS.ErrnoException) => {
        // Without a pid the process never started; otherwise this is e.g. a failed kill or IPC send.
        if (child.pid === undefined) finish({ code: null, signal: null, error });
        else onLine(`[${this.name}] ${error.message}`);
      });
      child.once('exit', (code, signal) => finish({ code, signal }));
    });

    if (child.pid !== undefined) {
      live.add(this);
      installExitHook();
      this.#startWatchdog(child.pid);
    }
  }

  /** Process id of the emulator (and id of its process group). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the process ended, or `undefined` while it runs. */
  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** The last lines of output (stdout and stderr interleaved). */
  recentOutput(): string[] {
    return [...this.#output];
  }

  /**
   * Stops the process: the stop signal, then SIGKILL to the whole group when it has not exited
   * within the grace period. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** Sends the stop signal without waiting (used from the synchronous `exit` hook). */
  signalSync(): void {
    const pid = this.child.pid;
    if (pid === undefined || this.#exit) return;
    try {
      if (canUseGroups && !this.#leaderOnly) process.kill(-pid, this.#stopSignal);
      else process.kill(pid, this.#stopSignal);
    } catch {
      // already gone
    }
  }

  async #stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && !this.#exit) {
      this.signalSync();
      if (!(await this.#waitForExit(this.#stopTimeoutMs))) {
        try {
          process.kill(canUseGroups ? -pid : pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await this.#waitForExit(5_000);
      }
    }
    this.#releaseWatchdog();
    live.delete(this);
  }

  async #waitForExit(ms: number): Promise<boolean> {
    if (this.#exit) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.exited.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #startWatchdog(pid: number): void {
    if (!canUseGroups) return;
    const graceTenths = String(Math.ceil(this.#stopTimeoutMs / 100));
    const mode = this.#leaderOnly ? 'leader' : 'group';
    const watchdog = spawn(
      '/bin/sh',
      [
        '-c',
        WATCHDOG_SCRIPT,
        `emulator-watchdog-${this.name}`,
        String(pid),
        this.#stopSignal.replace(/^SIG/, ''), // sh's `kill -s` wants TERM, not SIGTERM
        mode,
        graceTenths,
      ],
      { detached: true, stdio: ['pipe', 'ignore', 'ignore'] },
    );
    watchdog.on('error', () => {}); // best effort: no /bin/sh means no watchdog, the exit hook remains
    watchdog.stdin?.on('error', () => {});
    watchdog.unref(); // an idle stdin pipe does not keep the event loop alive either
    this.#watchdog = watchdog;
  }

  #releaseWatchdog(): void {
    const watchdog = this.#watchdog;
    this.#watchdog = undefined;
    if (watchdog?.stdin && !watchdog.stdin.destroyed) watchdog.stdin.end('release\n');
  }
}

/** Calls `onLine` for every line of `stream` (the last partial line is flushed at the end). */
export function readLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onLine(line);
  });
  stream.on('end', () => {
    if (pending.trim() !== '') onLine(pending);
    pending = '';
  });
}

/** "exited with code 1", "was killed by SIGKILL", "could not be started: spawn java ENOENT". */
export function describeExit(info: ExitInfo): string {
  if (info.error) return `could not be started: ${info.error.message}`;
  if (info.signal) return `was killed by ${info.signal}`;
  return `exited with code ${info.code}`;
}

/** Options for {@link waitUntilReady}. */
export interface ReadyOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /**
   * The TCP port the process is to listen on: a probe that succeeds counts only once the process
   * itself holds the port (where `/proc` can tell), not another process that took it first.
   */
  port?: number;
  /** Pause between probes. @defaultValue `50` */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Calls `probe` until it returns `true`. Fails with an {@link EmulatorStartError} carrying the
 * process's last output when the process exits, the deadline passes or the probe throws a
 * {@link FatalProbeError}; rethrows `signal.reason` when aborted. Other probe errors mean "not yet".
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  probe: () => Promise<boolean>,
  options: ReadyOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    if (proc.exitInfo) {
      // Give the pipes a moment to deliver the last words before quoting them.
      await delay(150);
      throw new EmulatorStartError(
        proc.name,
        `${proc.name} ${describeExit(proc.exitInfo)} before it was ready.`,
        proc.recentOutput(),
      );
    }
    try {
      if (
        (await probe()) &&
        (options.port === undefined || ownsListeningPort(proc.pid, options.port) !== false)
      )
        return;
    } catch (error) {
      if (error instanceof FatalProbeError) {
        throw new EmulatorStartError(proc.name, error.message, proc.recentOutput(), { cause: error });
      }
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last check: ${lastError.message})` : '';
      throw new EmulatorStartError(
        proc.name,
        `${proc.name} did not accept requests within ${options.timeoutMs} ms${detail}.`,
        proc.recentOutput(),
        { cause: lastError },
      );
    }
    await Promise.race([delay(interval), proc.exited]);
  }
}

/** A plain timer promise. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
