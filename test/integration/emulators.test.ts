import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkJava,
  type Emulator,
  externalPostgres,
  freePort,
  type LocalEmulators,
  S3_CREDENTIALS,
  startAll,
  startDynamoDb,
  startPostgres,
  startS3,
} from '../../local/emulators/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
// Inside the repository (git-ignored), not in a 0700 temp dir: as root, Postgres runs as the
// `postgres` OS user, which must be able to reach its data directory.
const root = join(repoRoot, '.local', `test-emulators-${randomBytes(4).toString('hex')}`);
const stateDir = join(root, 'state');
const anyPorts = { dynamodb: 0, s3: 0, postgres: 0 };

/** Pids of processes whose command line matches `pattern` (pgrep -f). */
function pgrep(...args: string[]): number[] {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // exit code 1: no match
  }
}

/** Running (zombies, which wait for a reaper that may not exist in a container, count as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Every process this test started for `dir`: java, postmaster (+ its children), the s3rver process. */
async function processesOf(dir: string): Promise<number[]> {
  const pids = pgrep('-f', dir);
  const pidFile = await readFile(join(dir, 'postgres', 'data', 'postmaster.pid'), 'utf8').catch(() => '');
  const postmaster = Number.parseInt(pidFile.split('\n')[0] ?? '', 10);
  if (postmaster > 0) pids.push(postmaster, ...pgrep('-P', String(postmaster)));
  return [...new Set(pids)];
}

function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function withPg<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await mkdir(root, { recursive: true });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('checkJava', () => {
  it('finds Java 17+ on this machine', () => {
    const java = checkJava();
    expect(java).toMatchObject({ ok: true });
    if (java.ok) expect(Number.parseInt(java.version, 10)).toBeGreaterThanOrEqual(17);
  });

  it('names Java 17 and how to install it when java is missing', () => {
    const java = checkJava('java-that-does-not-exist');
    expect(java.ok).toBe(false);
    if (!java.ok) {
      expect(java.message).toContain('Java 17');
      expect(java.message).toContain('found: none');
      expect(java.message).toContain('apt-get install openjdk-17-jre-headless');
      expect(java.message).toContain('JAVA_HOME');
    }
  });

  it('makes startAll fail early, before starting anything', async () => {
    const { PATH, JAVA_HOME } = process.env;
    process.env.PATH = join(root, 'no-bin');
    delete process.env.JAVA_HOME;
    try {
      await expect(startAll({ stateDir: join(root, 'no-java'), ports: anyPorts })).rejects.toThrow(/Java 17/);
    } finally {
      process.env.PATH = PATH;
      if (JAVA_HOME !== undefined) process.env.JAVA_HOME = JAVA_HOME;
    }
    expect(pgrep('-f', join(root, 'no-java'))).toEqual([]);
  });

  it('makes startDynamoDb fail with that message', async () => {
    await expect(startDynamoDb({ java: 'java-that-does-not-exist', port: 0 })).rejects.toThrow(/Java 17/);
  });
});

describe('DynamoDB Local class archive', () => {
  const args = (pid: number | undefined) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  it('is recorded when the first JVM exits, mapped by the next, and rebuilt for another jar or JVM', async () => {
    const dir = join(root, 'dynamodb-cds');
    const archive = join(dir, 'classes.jsa');
    const first = await startDynamoDb({ port: 0, classArchiveDir: dir });
    expect(args(first.pid)).toContain(`-XX:ArchiveClassesAtExit=${archive}.recording`);
    expect(args(first.pid)).toContain(join(dir, 'DynamoDBLocal.jar'));
    await first.stop();
    expect(existsSync(archive)).toBe(true);
    expect(existsSync(`${archive}.recording`)).toBe(false);

    const second = await startDynamoDb({ port: 0, classArchiveDir: dir });
    try {
      expect(args(second.pid)).toContain(`-XX:SharedArchiveFile=${archive}`);
      // Mapped, not refused (a JVM that cannot use an archive runs without it).
      expect(readFileSync(`/proc/${second.pid}/maps`, 'utf8')).toContain(archive);
      const client = new DynamoDBClient({
        endpoint: second.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      client.destroy();
    } finally {
      await second.stop();
    }

    // Another jar or JVM (its key differs): rebuilt, and the next run records again. Killed while
    // recording, that run leaves no archive (none half-written), so the one after records again.
    writeFileSync(join(dir, 'key.json'), '{"jar":"another version"}');
    const third = await startDynamoDb({ port: 0, classArchiveDir: dir });
    expect(existsSync(archive)).toBe(false);
    expect(args(third.pid)).toContain(`-XX:ArchiveClassesAtExit=${archive}.recording`);
    process.kill(third.pid as number, 'SIGKILL');
    await third.stop();
    expect(existsSync(archive)).toBe(false);
    expect(existsSync(`${archive}.recording`)).toBe(false);
  });
});

describe('freePort', () => {
  it('returns the preferred port when free and another one when it is busy', async () => {
    const port = await freePort();
    expect(await freePort(port)).toBe(port);
    const blocker = await listen(port);
    try {
      const other = await freePort(port);
      expect(other).not.toBe(port);
      expect(other).toBeGreaterThan(0);
    } finally {
      blocker.close();
    }
  });

  it('starts an emulator on another port when the preferred one is busy', async () => {
    const blocker = await listen(0);
    const busy = (blocker.address() as { port: number }).port;
    let s3: Emulator | undefined;
    try {
      s3 = await startS3({ stateDir: join(root, 'busy-s3'), port: busy });
      expect(new URL(s3.endpoint).port).not.toBe(String(busy));
      await s3Client(s3.endpoint).send(new ListBucketsCommand({}));
    } finally {
      await s3?.stop();
      blocker.close();
    }
  });
});

describe('externalPostgres', () => {
  it('wraps DATABASE_URL without starting anything', async () => {
    const external = externalPostgres('postgres://me:secret@db.example:6543/shop');
    expect(external.url).toBe('postgres://me:secret@db.example:6543/shop');
    expect(external.endpoint).toBe('postgres://db.example:6543');
    await expect(external.stop()).resolves.toBeUndefined();
  });
});

describe('startAll', () => {
  let emulators: LocalEmulators | undefined;

  beforeAll(async () => {
    emulators = await startAll({ stateDir, ports: anyPorts });
    console.log('cold start (ms):', emulators.timings);
  }, 60_000);

  afterAll(async () => {
    await emulators?.stop();
  });

  it('serves DynamoDB', async () => {
    const client = dynamoClient(started().dynamodb.endpoint);
    await client.send(
      new CreateTableCommand({
        TableName: 'orders',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await client.send(
      new PutItemCommand({ TableName: 'orders', Item: { pk: { S: 'o-1' }, total: { N: '42' } } }),
    );
    const { Item } = await client.send(
      new GetItemCommand({ TableName: 'orders', Key: { pk: { S: 'o-1' } } }),
    );
    expect(Item?.total).toEqual({ N: '42' });
    client.destroy();
  });

  it('serves S3, including truncated listings', async () => {
    const client = s3Client(started().s3.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'lake' }));
    await client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'a.json', Body: '{"n":1}' }));
    await client.send(new PutObjectCommand({ Bucket: 'lake', Key: 'b.json', Body: '{"n":2}' }));
    const object = await client.send(new GetObjectCommand({ Bucket: 'lake', Key: 'a.json' }));
    expect(await object.Body?.transformToString()).toBe('{"n":1}');

    const first = await client.send(new ListObjectsV2Command({ Bucket: 'lake', MaxKeys: 1 }));
    expect(first.IsTruncated).toBe(true);
    expect(first.Contents?.map((o) => o.Key)).toEqual(['a.json']);
    const second = await client.send(
      new ListObjectsV2Command({
        Bucket: 'lake',
        MaxKeys: 1,
        ContinuationToken: first.NextContinuationToken,
      }),
    );
    expect(second.Contents?.map((o) => o.Key)).toEqual(['b.json']);
    client.destroy();
  });

  it('serves Postgres with the database created', async () => {
    const { url } = started().postgres;
    expect(url).toMatch(/^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/shop$/);
    await withPg(url, async (client) => {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await client.query('create table products (id int primary key, name text not null)');
      await client.query("insert into products values (1, 'kettle')");
    });
  });

  it('stops every process it started, and keeps the data for the next start', async () => {
    const before = await processesOf(stateDir);
    expect(before.length).toBeGreaterThanOrEqual(4); // java, s3rver, postmaster and its workers
    expect(pgrep('-f', `DynamoDBLocal.*${stateDir}`)).toHaveLength(1);

    await started().stop();
    emulators = undefined;
    expect(before.filter(isAlive)).toEqual([]);
    expect(pgrep('-f', stateDir)).toEqual([]);
    // The watchdogs were released and have exited.
    expect(
      await eventually(() => pgrep('-P', String(process.pid), '-f', 'emulator-watchdog').length === 0),
    ).toBe(true);

    emulators = await startAll({ stateDir, ports: anyPorts });
    console.log('warm start (ms):', emulators.timings);
    const dynamo = dynamoClient(emulators.dynamodb.endpoint);
    const { Item } = await dynamo.send(
      new GetItemCommand({ TableName: 'orders', Key: { pk: { S: 'o-1' } } }),
    );
    expect(Item?.total).toEqual({ N: '42' });
    dynamo.destroy();
    const s3 = s3Client(emulators.s3.endpoint);
    const object = await s3.send(new GetObjectCommand({ Bucket: 'lake', Key: 'b.json' }));
    expect(await object.Body?.transformToString()).toBe('{"n":2}');
    s3.destroy();
    const rows = await withPg(
      emulators.postgres.url,
      async (c) => (await c.query('select name from products')).rows,
    );
    expect(rows).toEqual([{ name: 'kettle' }]);

    const again = await processesOf(stateDir);
    await emulators.stop();
    emulators = undefined;
    expect(again.filter(isAlive)).toEqual([]);
  });

  function started(): LocalEmulators {
    if (!emulators) throw new Error('emulators not started');
    return emulators;
  }
});

describe('failures and crashes', () => {
  it('stops the emulators that did start when another one fails', async () => {
    const dir = join(root, 'broken');
    await mkdir(join(dir, 'postgres', 'data'), { recursive: true }); // not a cluster: Postgres must refuse it
    const error = await startAll({ stateDir: dir, ports: anyPorts }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/postgres failed/);
    expect((error as Error).message).toMatch(/not a Postgres data directory/);
    expect(await eventually(() => pgrep('-f', dir).length === 0)).toBe(true);
  });

  it('does not leave emulators behind when the parent process is killed', async () => {
    const dir = join(root, 'crash');
    const index = pathToFileURL(join(repoRoot, 'local/emulators/index.ts')).href;
    const script = `
      import { startAll } from ${JSON.stringify(index)};
      await startAll({ stateDir: ${JSON.stringify(dir)}, ports: { dynamodb: 0, s3: 0, postgres: 0 } });
      console.log('ready');
      setInterval(() => {}, 60_000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolveReady, reject) => {
      parent.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolveReady();
      });
      parent.once('exit', (code) => reject(new Error(`parent exited early with ${code}`)));
    });
    const orphans = await processesOf(dir);
    expect(orphans.length).toBeGreaterThanOrEqual(4);

    parent.kill('SIGKILL'); // no exit hooks run: only the watchdogs can clean up
    expect(await eventually(() => orphans.filter(isAlive).length === 0, 15_000)).toBe(true);
    expect(pgrep('-f', dir)).toEqual([]);
  }, 40_000);
});

describe('Postgres starts again after a crash of the whole process tree', () => {
  /**
   * A parent that starts Postgres and prints the postmaster's pid: killed with it, the postmaster is a
   * zombie until someone reaps it. Stopping the parent keeps it one for as long as the test needs (in
   * a real crash init reaps it, later on a loaded machine: the restart of `kill-cloud` failed so).
   */
  async function postgresUnderAParent(dir: string) {
    const module = pathToFileURL(join(repoRoot, 'local/emulators/postgres.ts')).href;
    const script = `
      import { startPostgres } from ${JSON.stringify(module)};
      const postgres = await startPostgres({ stateDir: ${JSON.stringify(dir)}, port: 0 });
      console.log('ready ' + postgres.pid + ' ' + postgres.url);
      setInterval(() => {}, 60_000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [pid, url] = await new Promise<[number, string]>((resolveReady, reject) => {
      let out = '';
      parent.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = /ready (\d+) (\S+)/.exec(out);
        if (ready) resolveReady([Number(ready[1]), ready[2] as string]);
      });
      parent.once('exit', (code) => reject(new Error(`parent exited early with ${code}`)));
    });
    return { parent, pid, url };
  }

  const state = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return 'gone';
    }
  };

  it.skipIf(process.platform !== 'linux')(
    'while the killed postmaster is still a zombie: the stale postmaster.pid is cleared, no data is lost',
    async () => {
      const dir = join(root, 'zombie');
      const { parent, pid, url } = await postgresUnderAParent(dir);
      try {
        await withPg(url, (c) => c.query('create table kept (n int); insert into kept values (42)'));
        parent.kill('SIGSTOP'); // cannot reap
        process.kill(-pid, 'SIGKILL'); // the postmaster and its backends (one process group)
        expect(await eventually(() => state(pid) === 'Z')).toBe(true);
        const lock = await readFile(join(dir, 'data', 'postmaster.pid'), 'utf8');
        expect(lock.split('\n')[0]).toBe(String(pid)); // what made Postgres refuse: "lock file already exists"

        const lines: string[] = [];
        const again = await startPostgres({ stateDir: dir, port: 0, onLog: (line) => lines.push(line) });
        try {
          expect(state(pid)).toBe('Z'); // still there: started without waiting for a reaper
          expect(lines.join('\n')).toMatch(/removing the stale .*postmaster\.pid.*not reaped yet/);
          const rows = await withPg(again.url, async (c) => (await c.query('select n from kept')).rows);
          expect(rows).toEqual([{ n: 42 }]);
        } finally {
          await again.stop();
        }
      } finally {
        parent.kill('SIGKILL');
        parent.kill('SIGCONT');
      }
    },
    60_000,
  );

  it.skipIf(process.platform !== 'linux')(
    "when the dead postmaster's pid now belongs to another program",
    async () => {
      const dir = join(root, 'reused');
      const { parent, pid } = await postgresUnderAParent(dir);
      parent.kill('SIGKILL');
      process.kill(-pid, 'SIGKILL');
      expect(await eventually(() => state(pid) === 'gone', 15_000)).toBe(true);
      // Stands for the program that got the pid, run by the user Postgres runs as (Postgres itself
      // takes a pid it may not signal for a stale one).
      const postgresUser =
        process.getuid?.() === 0
          ? {
              uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
              gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
            }
          : {};
      const other = spawn('sleep', ['60'], { stdio: 'ignore', ...postgresUser });
      try {
        const lockFile = join(dir, 'data', 'postmaster.pid');
        const lines = (await readFile(lockFile, 'utf8')).split('\n');
        lines[0] = String(other.pid);
        writeFileSync(lockFile, lines.join('\n'));
        const again = await startPostgres({ stateDir: dir, port: 0 });
        await again.stop();
        expect(state(other.pid as number)).not.toBe('gone'); // not ours: left alone
      } finally {
        other.kill('SIGKILL');
      }
    },
    60_000,
  );

  it.skipIf(process.platform !== 'linux')(
    'but never takes the data directory of a Postgres that another running parent owns',
    async () => {
      const dir = join(root, 'owned');
      const { parent, pid } = await postgresUnderAParent(dir);
      try {
        const error = await startPostgres({ stateDir: dir, port: 0 }).catch((e: unknown) => e);
        expect((error as Error).message).toMatch(/in use by a running Postgres/);
        expect(state(pid)).not.toBe('gone');
      } finally {
        parent.kill('SIGTERM');
        await eventually(() => state(pid) === 'gone' || state(pid) === 'Z', 15_000);
      }
    },
    60_000,
  );
});

function listen(port: number): Promise<Server> {
  return new Promise((resolveListen, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen(server));
  });
}
