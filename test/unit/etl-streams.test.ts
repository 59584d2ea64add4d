import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { GzipLinesFile, gunzipLines } from '../../shared/etl/adapters/gzip-lines.ts';
import {
  createScratchDir,
  removeScratchDir,
  sweepStaleScratchDirs,
} from '../../shared/etl/adapters/scratch.ts';

/** Resolves to what the iteration ended with, or 'still waiting' after `ms` (the pre-fix hang). */
async function drain(lines: AsyncIterable<string>, ms = 3000): Promise<string[] | Error | 'still waiting'> {
  const read: string[] = [];
  const iterate = (async () => {
    try {
      for await (const line of lines) read.push(line);
      return read;
    } catch (error) {
      return error as Error;
    }
  })();
  return Promise.race([
    iterate,
    new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), ms)),
  ]);
}

describe('gunzipLines', () => {
  it('reads every line of a gzip stream', async () => {
    const body = Readable.from([gzipSync('{"a":1}\n{"a":2}\n')]);
    expect(await drain(gunzipLines(body))).toEqual(['{"a":1}', '{"a":2}']);
  });

  it('ends with the error when the source stream fails mid-object (it used to wait forever)', async () => {
    const gz = gzipSync(Array.from({ length: 2000 }, (_, i) => `{"line":${i}}`).join('\n'));
    const body = new Readable({ read() {} });
    body.push(gz.subarray(0, 100)); // some data, then the socket resets
    setTimeout(() => body.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 20);
    const outcome = await drain(gunzipLines(body));
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toContain('socket hang up');
  });

  it('ends with an error on corrupt gzip', async () => {
    const outcome = await drain(gunzipLines(Readable.from([Buffer.from('this is not gzip at all')])));
    expect(outcome).toBeInstanceOf(Error);
  });
});

describe('GzipLinesFile', () => {
  it('rejects when its file cannot be written instead of waiting for a drain', async () => {
    const file = new GzipLinesFile(path.join(tmpdir(), 'no-such-dir-etl', 'x', 'out.jsonl.gz'));
    const outcome = await (async () => {
      try {
        for (let i = 0; i < 50_000; i++) await file.write(`{"n":${i},"pad":"${'x'.repeat(100)}"}`);
        await file.close();
        return 'written';
      } catch (error) {
        return error as Error;
      }
    })();
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('ETL scratch directories', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });
  const newRoot = () => {
    const root = mkdtempSync(path.join(tmpdir(), 'scratch-test-'));
    roots.push(root);
    return root;
  };

  /** Runs a Node child that creates a scratch dir under `root`, then ends as `how` says. */
  async function child(root: string, how: 'exit' | 'kill'): Promise<void> {
    const module = path.resolve('shared/etl/adapters/scratch.ts');
    const code = `
      import { createScratchDir } from ${JSON.stringify(module)};
      import { writeFileSync } from 'node:fs';
      const dir = createScratchDir('transform', ${JSON.stringify(root)});
      writeFileSync(dir + '/part.parquet', 'x');
      console.log('ready');
      ${how === 'exit' ? 'process.exit(1);' : 'setInterval(() => {}, 1000);'}`;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
    if (how === 'kill') proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('exit', resolve));
  }

  it('are removed when the process exits without unwinding (process.exit)', async () => {
    const root = newRoot();
    await child(root, 'exit');
    expect(readdirSync(root)).toEqual([]);
  });

  it("a killed process's directory is swept by the next step, a live process's is kept", async () => {
    const root = newRoot();
    await child(root, 'kill');
    const [left] = readdirSync(root);
    expect(left).toMatch(/^etl-\d+-transform-/); // SIGKILL cannot be handled: it stays until the sweep
    const mine = createScratchDir('aggregate', root);
    // A directory of a process that is alive (this one's parent) is not touched.
    const other = path.join(root, `etl-${process.ppid}-transform-abc123`);
    mkdirSync(other);
    writeFileSync(path.join(other, 'x'), 'x');
    const removed = sweepStaleScratchDirs(root);
    expect(removed).toEqual([path.join(root, left as string)]);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(other)).toBe(true);
    removeScratchDir(mine);
    expect(existsSync(mine)).toBe(false);
  });
});
