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
