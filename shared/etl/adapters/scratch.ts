import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * Temporary directories of the ETL steps, removed on every exit path:
 *
 * - normally, by the step's own `finally` ({@link removeScratchDir});
 * - when the process exits without unwinding (`process.exit`, e.g. an injected crash), by an `exit`
 *   hook that removes every directory this process still holds;
 * - when it is killed (SIGKILL, a Lambda timeout, an out-of-memory kill), by the next step that
 *   starts on the same machine: {@link sweepStaleScratchDirs} removes the directories of processes
 *   that no longer run. On Lambda, `/tmp` outlives a crashed runtime process within its sandbox.
 *
 * Names carry the owner's pid (`etl-<pid>-<step>-XXXXXX`), so a sweep never touches the directory of
 * another process that is still alive (the local cloud runs several workers on one `/tmp`).
 *
 * @example
 * sweepStaleScratchDirs();
 * const dir = createScratchDir('transform');
 * try { ... files under dir ... } finally { removeScratchDir(dir); }
 */
const live = new Set<string>();
const NAME = /^etl-(\d+)-/;
let hooked = false;

function removeLive(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** Creates `<tmp>/etl-<pid>-<step>-XXXXXX`, tracked until {@link removeScratchDir}. */
export function createScratchDir(step: string, root = tmpdir()): string {
  if (!hooked) {
    process.once('exit', removeLive);
    hooked = true;
  }
  const dir = mkdtempSync(path.join(root, `etl-${process.pid}-${step}-`));
  live.add(dir);
  return dir;
}

export function removeScratchDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  live.delete(dir);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
};

/**
 * Removes the scratch directories left by processes that are gone, and those of this process's pid
 * that this process did not create (a previous process that had the same pid, as in a Lambda sandbox
 * whose runtime restarted). Returns the removed paths.
 */
export function sweepStaleScratchDirs(root = tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = Number(NAME.exec(name)?.[1]);
    if (!pid) continue;
    const dir = path.join(root, name);
    if (pid === process.pid ? live.has(dir) : alive(pid)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
