import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ownsListeningPort } from '../../local/emulators/ports.ts';

/*
 * Two local clouds starting at once both prefer DynamoDB Local's port 8000: the second one's probe
 * was answered by the first one's JVM while its own failed to bind, and it went on using a
 * DynamoDB that vanished when the other cloud stopped. The readiness probe now also asks whether
 * the emulator's own process holds the port.
 */
describe.skipIf(!existsSync('/proc/net/tcp'))('ownsListeningPort (Linux /proc)', () => {
  it('tells this process’s listening socket from another process’s', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const mine = (server.address() as { port: number }).port;
    const child = spawn(
      process.execPath,
      [
        '-e',
        "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => console.log(s.address().port));",
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      const theirs = await new Promise<number>((resolve) =>
        child.stdout.once('data', (data) => resolve(Number(String(data)))),
      );
      expect(ownsListeningPort(process.pid, mine)).toBe(true);
      expect(ownsListeningPort(process.pid, theirs)).toBe(false);
      expect(ownsListeningPort(child.pid, theirs)).toBe(true);
      expect(ownsListeningPort(child.pid, mine)).toBe(false);
    } finally {
      child.kill();
      server.close();
    }
  });

  it('says false for a port nobody listens on, and cannot tell without a pid', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    expect(ownsListeningPort(process.pid, port)).toBe(false);
    expect(ownsListeningPort(undefined, port)).toBeUndefined();
  });
});
