import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { DEFAULT_HOST } from './types.ts';

/**
 * Finds a TCP port to listen on.
 *
 * Returns `preferred` when it can be bound on `host` right now, otherwise a free port chosen by the
 * operating system. The port is released again before this resolves, so another process could take
 * it in between; emulators started right after this call fail with a clear "address in use" error
 * in that (rare) case.
 *
 * @param preferred - Port to try first; `undefined` or `0` means "any free port".
 * @param host - Interface to check. @defaultValue `'127.0.0.1'`
 *
 * @example
 * ```ts
 * const port = await freePort(8000); // 8000, or e.g. 41237 when 8000 is taken
 * ```
 */
export async function freePort(preferred?: number, host: string = DEFAULT_HOST): Promise<number> {
  if (preferred !== undefined && preferred !== 0) {
    const port = await tryListen(preferred, host);
    if (port !== undefined) return port;
  }
  const port = await tryListen(0, host);
  if (port === undefined) throw new Error(`Could not find a free TCP port on ${host}`);
  return port;
}

/** Binds and releases `port` on `host`: resolves the bound port, or `undefined` when it is taken. */
function tryListen(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(undefined);
      else reject(error);
    });
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Whether process `pid` holds the socket listening on TCP `port` (Linux, from `/proc/net/tcp*` and
 * `/proc/<pid>/fd`); undefined where `/proc` cannot say (another OS, no permission). An emulator's
 * readiness probe that connects to its port can otherwise be answered by another process that
 * took the port between our free-port check and the emulator's bind (two local clouds starting at
 * once both prefer DynamoDB Local's 8000): the emulator then fails to bind and exits, and the
 * caller would go on using someone else's.
 *
 * @example
 * ownsListeningPort(proc.pid, 8000); // true, false, or undefined (cannot tell)
 */
export function ownsListeningPort(pid: number | undefined, port: number): boolean | undefined {
  if (pid === undefined) return undefined;
  try {
    const inodes = new Set<string>();
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // sl local_address rem_address st … inode (st 0A = LISTEN)
        if (f.length > 9 && f[3] === '0A' && f[1]?.endsWith(`:${hex}`)) inodes.add(f[9] as string);
      }
    }
    if (inodes.size === 0) return false;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1] as string)) return true;
    }
    return false;
  } catch {
    return undefined;
  }
}
