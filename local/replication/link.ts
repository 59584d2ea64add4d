/**
 * A TCP link the local cloud controls: what a network path between two machines (or regions) can do
 * to the bytes on it, for the fault kinds of issue 12.
 *
 * - `retarget(port)`: the address behind the link moves (RDS' endpoint name following a failover to
 *   the standby's address): open connections are cut, new ones reach the new target.
 * - `lag(ms)`: every chunk is delivered `ms` later, in order, both ways (a longer network path).
 * - `cut()` / `mend()`: a partition. Open connections are reset and new ones are refused until mended,
 *   so the two ends find out quickly (a blackhole would only show after TCP or Postgres timeouts).
 *
 * @example
 * const link = await startLink({ name: 'postgres-endpoint', targetPort: primaryPort });
 * new pg.Client({ port: link.port }); // reaches the primary
 * link.retarget(standbyPort);          // after a promotion: the same address reaches the new primary
 *
 * @module
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Link {
  /** The port clients connect to (127.0.0.1). */
  readonly port: number;
  /** Where it forwards to now. */
  readonly targetPort: number;
  /** Delivery delay in ms, each way. */
  readonly lagMs: number;
  readonly isCut: boolean;
  /** Open connections. */
  readonly connections: number;
  retarget(port: number): void;
  lag(ms: number): void;
  cut(): void;
  mend(): void;
  close(): Promise<void>;
}

/** Delivers chunks `lagMs()` after they arrived, keeping their order. */
function delayedPipe(from: Socket, to: Socket, lagMs: () => number): void {
  let lastDue = 0;
  from.on('data', (chunk: Buffer) => {
    const ms = lagMs();
    if (ms <= 0 && lastDue <= Date.now()) {
      to.write(chunk);
      return;
    }
    // Never before an earlier chunk: a lag that shrinks must not reorder the stream.
    const due = Math.max(Date.now() + ms, lastDue);
    lastDue = due;
    setTimeout(
      () => {
        if (!to.destroyed) to.write(chunk);
      },
      Math.max(0, due - Date.now()),
    );
  });
  from.on('end', () => {
    setTimeout(() => to.end(), Math.max(0, lastDue - Date.now()));
  });
}

/** Starts a link on a free 127.0.0.1 port (or `port`) forwarding to `targetPort`. */
export async function startLink(options: {
  name: string;
  targetPort: number;
  port?: number;
  host?: string;
}): Promise<Link> {
  const host = options.host ?? '127.0.0.1';
  let targetPort = options.targetPort;
  let lagMs = 0;
  let isCut = false;
  const open = new Set<Socket>();

  const server: Server = createServer((client) => {
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host, port: targetPort });
    const pair = [client, upstream];
    for (const socket of pair) {
      open.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {});
      socket.on('close', () => {
        open.delete(socket);
        for (const other of pair) if (!other.destroyed) other.destroy();
      });
    }
    delayedPipe(client, upstream, () => lagMs);
    delayedPipe(upstream, client, () => lagMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const resetAll = () => {
    for (const socket of open) socket.resetAndDestroy();
    open.clear();
  };

  return {
    port,
    get targetPort() {
      return targetPort;
    },
    get lagMs() {
      return lagMs;
    },
    get isCut() {
      return isCut;
    },
    get connections() {
      return open.size / 2;
    },
    retarget(next) {
      targetPort = next;
      resetAll();
    },
    lag(ms) {
      lagMs = Math.max(0, ms);
    },
    cut() {
      isCut = true;
      resetAll();
    },
    mend() {
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        resetAll();
        server.close(() => resolve());
      }),
  };
}
