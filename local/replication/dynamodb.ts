/**
 * A replicated DynamoDB for the local cloud: an HTTP proxy in front of DynamoDB Local that speaks
 * the DynamoDB JSON protocol (`X-Amz-Target`) and keeps, per table, the three copies a DynamoDB
 * partition has (Elhemali et al., "Amazon DynamoDB", USENIX ATC 2022) plus the state of its GSIs:
 *
 * | copy                        | table in DynamoDB Local | applies a write                                        |
 * | --------------------------- | ----------------------- | ------------------------------------------------------ |
 * | leader                      | `<name>`                | evaluates it (conditions, updates, transactions)       |
 * | follower in the write quorum| `<name>.replica-2`      | before the write is acknowledged (W = 2 of N = 3)      |
 * | lagging follower            | `<name>.replica-3`      | a sampled lag after the acknowledgement, in order      |
 * | index view (tables with GSIs)| `<name>.index-view`    | a lag of its own after the acknowledgement, in order   |
 *
 * Followers receive **item images read back from the leader** (a strongly consistent GetItem after
 * the write), never the request itself, so conditions and update expressions are evaluated once, by
 * the leader; a transaction or batch replicates every key it wrote. Writes to one item reach a copy
 * in the order the leader applied them (a per-item log; a later write never overtakes an earlier one).
 *
 * Routing: writes, transactions, `ConsistentRead`, `TransactGetItems` and PartiQL → leader; GetItem,
 * BatchGetItem, Query and Scan without `ConsistentRead` → one of the three copies at random; a Query or
 * Scan on a GSI → the index view. Control-plane calls (CreateTable, UpdateTable, DeleteTable,
 * UpdateTimeToLive) are fanned out to the copies; the copies are hidden from ListTables and table
 * names in answers are mapped back, so clients (the SDK, the functions) cannot tell. Streams belong
 * to the leader only; TTL runs on every copy.
 *
 * All copies are tables of the one DynamoDB Local JVM.
 *
 * Every answer carries the coordinator's clock in `x-replication-as-of` ({@link AS_OF_HEADER}, ms
 * on this proxy's `performance.now()`): when a read arrived (a lagging copy answers as of then) or
 * when a write was acknowledged (its lag counts from then). PBS's t is the time between those two
 * instants at the coordinator; a client measuring it on its own clock also counts the ack's way back
 * and the read's way in, which on a busy 2-core machine are milliseconds (Bailis et al. §6 validated
 * PBS the same way, with timestamps from instrumented replicas). DynamoDB itself sends no such header.
 *
 * @example
 * ```ts
 * const replication = await startDynamoDbReplication({ upstream: dynamodb.endpoint, model: parseLagModel('exp:20ms') });
 * process.env.AWS_ENDPOINT_URL_DYNAMODB = replication.endpoint;
 * await replication.stop(); // applies what is still pending, then closes
 * ```
 *
 * @module
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { AS_OF_HEADER, formatLagModel, type LagModel, sampleLag } from '../../shared/lab/domain/lag-model.ts';

type Json = Record<string, unknown>;
type AttributeMap = Record<string, unknown>;

/** The copies of a table, by role. */
export type CopyRole = 'leader' | 'follower' | 'lagging' | 'index';

/** Suffixes of the copies' table names. */
export const COPY_SUFFIX: Record<Exclude<CopyRole, 'leader'>, string> = {
  follower: '.replica-2',
  lagging: '.replica-3',
  index: '.index-view',
};

/** Whether a table name is one of the hidden copies. */
export const isCopyName = (name: string) =>
  Object.values(COPY_SUFFIX).some((suffix) => name.endsWith(suffix));

/** The table name of `table`'s copy in `role`. */
export const copyName = (table: string, role: CopyRole) =>
  role === 'leader' ? table : `${table}${COPY_SUFFIX[role]}`;

export interface DynamoDbReplicationOptions {
  /** DynamoDB Local's endpoint, e.g. `http://127.0.0.1:8000`. */
  upstream: string;
  /** The lag of the lagging follower and of the index view. */
  model: LagModel;
  /** @defaultValue `'127.0.0.1'` */
  host?: string;
  /** @defaultValue `0` (any free port) */
  port?: number;
  /**
   * A file that marks the copies as complete (written by a clean {@link DynamoDbReplication.stop},
   * removed while running). Without it, the copies are rebuilt from the leaders at start.
   */
  cleanMarker?: string;
  /** Random numbers in [0, 1) for replica choice and lag samples (tests pass a seeded one). */
  random?: () => number;
  log?: (entry: Record<string, unknown>) => void;
}

/** Counters of the replication layer. */
export interface ReplicationStats {
  requests: number;
  readsByCopy: Record<CopyRole, number>;
  replicatedWrites: number;
  pendingLagged: number;
  errors: number;
}

/** One item of one table, as the replication chains and in-flight reads name it. */
const itemId = (table: string, key: AttributeMap) => `${table}\u0000${canonical(key)}`;

/** A read in flight on a lagging copy: when it arrived, which items it reads (all when absent). */
interface InFlightRead {
  at: number;
  items?: Set<string>;
  done: Promise<void>;
}

interface TableInfo {
  keyNames: string[];
  gsis: Set<string>;
  hasIndexView: boolean;
}

interface Upstream {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const PROTOCOL = 'DynamoDB_20120810';
/** DynamoDB Local checks that a request is signed, not the signature. */
const LOCAL_AUTHORIZATION =
  'AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000';

/** Raised when DynamoDB Local answers an internal call with an error. */
class UpstreamError extends Error {
  readonly response: Upstream;
  constructor(operation: string, response: Upstream) {
    super(`${operation}: HTTP ${response.status} ${response.body.slice(0, 300)}`);
    this.name = 'UpstreamError';
    this.response = response;
  }
}

/**
 * Starts the replication proxy: discovers the tables already in DynamoDB Local, makes sure each has
 * its copies (rebuilding them from the leader unless the clean marker vouches for them), and listens.
 */
export async function startDynamoDbReplication(
  options: DynamoDbReplicationOptions,
): Promise<DynamoDbReplication> {
  const replication = new DynamoDbReplication(options);
  await replication.start();
  return replication;
}

export class DynamoDbReplication {
  private readonly options: DynamoDbReplicationOptions;
  private readonly upstream: URL;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 512 });
  private readonly random: () => number;
  private readonly tables = new Map<string, TableInfo>();
  /** Per item (table + key): the tail of its replication log to the quorum follower. */
  private readonly quorumChains = new Map<string, Promise<void>>();
  /** Per copy and item: the tail of the lagged log, and when its last entry is due. */
  private readonly laggedChains = new Map<string, { tail: Promise<void>; due: number }>();
  /** Per copy and item: lagged entries not applied yet (a read there first applies those already due). */
  private readonly pending = new Map<string, { due: number; wake: () => void; done: Promise<void> }[]>();
  private readonly sleepers = new Set<() => void>();
  /**
   * Reads in flight on each lagging copy, with when they arrived and which items they read (none:
   * the whole copy, as a Query or Scan does). A lagged apply waits for the reads that arrived before
   * it was due, so a read answers as of its arrival: the lag it sees is the sampled one, however long
   * it then waits for DynamoDB Local on a busy machine.
   */
  private readonly inFlightReads = new Map<string, Set<InFlightRead>>();
  private flushing = false;
  private server?: Server;
  private model: LagModel;
  private readonly counters: ReplicationStats = {
    requests: 0,
    readsByCopy: { leader: 0, follower: 0, lagging: 0, index: 0 },
    replicatedWrites: 0,
    pendingLagged: 0,
    errors: 0,
  };

  constructor(options: DynamoDbReplicationOptions) {
    this.options = options;
    this.upstream = new URL(options.upstream);
    this.random = options.random ?? Math.random;
    this.model = options.model;
  }

  /** Where clients send DynamoDB requests (what `AWS_ENDPOINT_URL_DYNAMODB` should be). */
  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('replication proxy not started');
    return `http://${this.options.host ?? '127.0.0.1'}:${address.port}`;
  }

  /** The lag model in force. */
  get lagModel(): LagModel {
    return this.model;
  }

  /** Changes the lag model for writes from now on (pending ones keep their due time). */
  setLagModel(model: LagModel): void {
    this.model = model;
    this.log({ message: `replication lag model now ${formatLagModel(model)}` });
  }

  stats(): ReplicationStats {
    return structuredClone(this.counters);
  }

  /** The replicated tables and the names of their copies (each copy is a table of its own). */
  copies(): Record<string, Partial<Record<CopyRole, string>>> {
    const out: Record<string, Partial<Record<CopyRole, string>>> = {};
    for (const [table, info] of this.tables) {
      out[table] = {
        leader: table,
        follower: copyName(table, 'follower'),
        lagging: copyName(table, 'lagging'),
        ...(info.hasIndexView ? { index: copyName(table, 'index') } : {}),
      };
    }
    return out;
  }

  async start(): Promise<void> {
    const marker = this.options.cleanMarker;
    const trusted = marker !== undefined && existsSync(marker);
    if (marker) rmSync(marker, { force: true });
    // Table by table at once: a start waits for the slowest table, not for the sum of them.
    await Promise.all((await this.listBaseTables()).map((table) => this.syncCopies(table, !trusted)));
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
  }

  /** Applies every pending lagged write at once, in order (the copies then equal the leaders). */
  async flush(): Promise<void> {
    this.flushing = true;
    for (const wake of this.sleepers) wake();
    await Promise.all([...this.quorumChains.values()]);
    await Promise.all([...this.laggedChains.values()].map((c) => c.tail));
    this.flushing = false;
  }

  /** Stops accepting requests, applies what is pending, and marks the copies complete. */
  async stop(): Promise<void> {
    if (this.server) {
      const server = this.server;
      this.server = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.flush();
    this.agent.destroy();
    if (this.options.cleanMarker && this.counters.errors === 0)
      writeFileSync(this.options.cleanMarker, `${new Date().toISOString()}\n`);
  }

  private log(entry: Record<string, unknown>): void {
    this.options.log?.({ source: 'replication', ...entry });
  }

  // ---------------------------------------------------------------------------------------------
  // Request handling

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = performance.now();
    this.counters.requests++;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(`${PROTOCOL}.`) ? target.slice(PROTOCOL.length + 1) : '';
      const authorization = String(req.headers.authorization ?? LOCAL_AUTHORIZATION);
      if (!operation || !raw) {
        return this.reply(res, await this.send(target, raw, authorization));
      }
      const input = JSON.parse(raw) as Json;
      const answer = await this.route(operation, input, raw, authorization, arrivedAt);
      const repliedAt = performance.now();
      this.reply(res, answer.response, answer.asOf ?? repliedAt);
      answer.afterAck?.(repliedAt);
    } catch (error) {
      this.counters.errors++;
      this.log({ level: 'ERROR', message: 'replication proxy failed a request', error: String(error) });
      if (!res.headersSent) {
        const body = JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: `replication proxy: ${(error as Error).message}`,
        });
        this.reply(res, { status: 500, headers: { 'content-type': 'application/x-amz-json-1.0' }, body });
      } else res.destroy();
    }
  }

  private reply(res: ServerResponse, upstream: Upstream, asOf?: number): void {
    const body = Buffer.from(upstream.body, 'utf8');
    const headers: Record<string, string | number> = {
      'content-type': upstream.headers['content-type'] ?? 'application/x-amz-json-1.0',
      'content-length': body.length,
      'x-amz-crc32': String(crc32(body)),
    };
    if (asOf !== undefined) headers[AS_OF_HEADER] = asOf.toFixed(3);
    const requestId = upstream.headers['x-amzn-requestid'];
    if (requestId) headers['x-amzn-RequestId'] = requestId;
    res.writeHead(upstream.status, headers);
    res.end(body);
  }

  private async route(
    operation: string,
    input: Json,
    raw: string,
    authorization: string,
    arrivedAt: number,
  ): Promise<{ response: Upstream; afterAck?: (ackedAt: number) => void; asOf?: number }> {
    const forward = () => this.send(`${PROTOCOL}.${operation}`, raw, authorization);
    const table = input.TableName as string | undefined;
    const known = table !== undefined && this.tables.has(table);
    switch (operation) {
      case 'GetItem':
      case 'Query':
      case 'Scan': {
        if (!known) return { response: await forward() };
        const role = this.readRole(table, input);
        this.counters.readsByCopy[role]++;
        if (role === 'leader') return { response: await forward(), asOf: arrivedAt };
        const copy = copyName(table, role);
        const keys = operation === 'GetItem' ? [input.Key as AttributeMap] : undefined;
        const lags = role === 'lagging' || role === 'index';
        const response = await (lags
          ? this.readAsOf(copy, table, keys, arrivedAt, () =>
              this.call(operation, { ...input, TableName: copy }, authorization),
            )
          : this.call(operation, { ...input, TableName: copy }, authorization));
        return { response: this.renameTables(response, { [copy]: table }), asOf: arrivedAt };
      }
      case 'BatchGetItem':
        return { response: await this.batchGet(input, raw, authorization, arrivedAt), asOf: arrivedAt };
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem': {
        const response = await forward();
        if (!known || response.status !== 200) return { response };
        const info = this.tables.get(table) as TableInfo;
        const key =
          operation === 'PutItem'
            ? pick(input.Item as AttributeMap, info.keyNames)
            : (input.Key as AttributeMap);
        return { response, afterAck: await this.replicate([{ table, key }]) };
      }
      case 'BatchWriteItem': {
        const response = await forward();
        if (response.status !== 200) return { response };
        const writes: { table: string; key: AttributeMap }[] = [];
        for (const [name, requests] of Object.entries((input.RequestItems ?? {}) as Record<string, Json[]>)) {
          const info = this.tables.get(name);
          if (!info) continue;
          for (const r of requests) {
            const put = r.PutRequest as { Item: AttributeMap } | undefined;
            const del = r.DeleteRequest as { Key: AttributeMap } | undefined;
            const key = put ? pick(put.Item, info.keyNames) : del?.Key;
            if (key) writes.push({ table: name, key });
          }
        }
        return { response, afterAck: await this.replicate(writes) };
      }
      case 'TransactWriteItems': {
        const response = await forward();
        if (response.status !== 200) return { response };
        const writes: { table: string; key: AttributeMap }[] = [];
        for (const item of (input.TransactItems ?? []) as Json[]) {
          const put = item.Put as { TableName: string; Item: AttributeMap } | undefined;
          const other = (item.Update ?? item.Delete) as { TableName: string; Key: AttributeMap } | undefined;
          if (put && this.tables.has(put.TableName))
            writes.push({
              table: put.TableName,
              key: pick(put.Item, (this.tables.get(put.TableName) as TableInfo).keyNames),
            });
          if (other && this.tables.has(other.TableName))
            writes.push({ table: other.TableName, key: other.Key });
        }
        return { response, afterAck: await this.replicate(writes) };
      }
      case 'ListTables': {
        const response = await forward();
        if (response.status !== 200) return { response };
        const out = JSON.parse(response.body) as { TableNames?: string[] };
        out.TableNames = (out.TableNames ?? []).filter((name) => !isCopyName(name));
        return { response: { ...response, body: JSON.stringify(out) } };
      }
      case 'CreateTable': {
        const response = await forward();
        if (response.status === 200 && table) await this.syncCopies(table, true);
        return { response };
      }
      case 'UpdateTable': {
        const response = await forward();
        if (response.status === 200 && known) await this.updateCopies(table, input);
        return { response };
      }
      case 'DeleteTable': {
        const response = await forward();
        if (response.status === 200 && table) await this.dropCopies(table);
        return { response };
      }
      case 'UpdateTimeToLive': {
        const response = await forward();
        if (response.status === 200 && known) {
          for (const copy of this.copyNames(table))
            await this.call('UpdateTimeToLive', { ...input, TableName: copy }).catch((error) =>
              this.log({ level: 'WARN', message: `TTL on ${copy}`, error: String(error) }),
            );
        }
        return { response };
      }
      default:
        // TransactGetItems, DescribeTable, DescribeTimeToLive, tags, PartiQL, …: the leader answers.
        return { response: await forward() };
    }
  }

  /** Which copy answers a read: the leader when consistency is asked for, the index view for a GSI. */
  private readRole(table: string, input: Json): CopyRole {
    const info = this.tables.get(table) as TableInfo;
    const index = input.IndexName as string | undefined;
    if (index && info.gsis.has(index)) return info.hasIndexView ? 'index' : 'leader';
    if (input.ConsistentRead === true) return 'leader';
    return this.randomReplica();
  }

  private randomReplica(): CopyRole {
    const pick = Math.floor(this.random() * 3);
    return pick === 0 ? 'leader' : pick === 1 ? 'follower' : 'lagging';
  }

  private async batchGet(
    input: Json,
    raw: string,
    authorization: string,
    arrivedAt: number,
  ): Promise<Upstream> {
    const requestItems = (input.RequestItems ?? {}) as Record<string, Json>;
    const back: Record<string, string> = {};
    const rewritten: Record<string, Json> = {};
    const lagging: { copy: string; table: string; keys: AttributeMap[] }[] = [];
    for (const [name, spec] of Object.entries(requestItems)) {
      let role: CopyRole = 'leader';
      if (this.tables.has(name) && spec.ConsistentRead !== true) role = this.randomReplica();
      if (this.tables.has(name)) this.counters.readsByCopy[role]++;
      const copy = copyName(name, role);
      if (role === 'lagging') lagging.push({ copy, table: name, keys: (spec.Keys ?? []) as AttributeMap[] });
      back[copy] = name;
      rewritten[copy] = spec;
    }
    if (Object.keys(back).every((copy) => back[copy] === copy))
      return this.send(`${PROTOCOL}.BatchGetItem`, raw, authorization);
    const read = () => this.call('BatchGetItem', { ...input, RequestItems: rewritten }, authorization);
    // At most one lagging copy per table, and a BatchGetItem names each table once.
    const response = await lagging.reduceRight<() => Promise<Upstream>>(
      (inner, l) => () => this.readAsOf(l.copy, l.table, l.keys, arrivedAt, inner),
      read,
    )();
    return this.renameTables(response, back);
  }

  /**
   * Runs `read` on a lagging copy as of `arrivedAt`: first applies what was due there by then (for
   * `keys`, or all its items), and holds back what falls due later until the read has its answer.
   */
  private async readAsOf<T>(
    copy: string,
    table: string,
    keys: AttributeMap[] | undefined,
    arrivedAt: number,
    read: () => Promise<T>,
  ): Promise<T> {
    let end: () => void = () => {};
    const entry: InFlightRead = {
      at: arrivedAt,
      items: keys && new Set(keys.map((key) => itemId(table, key))),
      done: new Promise<void>((resolve) => {
        end = resolve;
      }),
    };
    const reads = this.inFlightReads.get(copy) ?? new Set<InFlightRead>();
    reads.add(entry);
    this.inFlightReads.set(copy, reads);
    try {
      await this.catchUp(copy, table, keys, arrivedAt);
      return await read();
    } finally {
      reads.delete(entry);
      if (reads.size === 0 && this.inFlightReads.get(copy) === reads) this.inFlightReads.delete(copy);
      end();
    }
  }

  /** Waits for the reads on `copy` (of item `id`, or of the whole copy) that arrived before `due`. */
  private readsBefore(copy: string, id: string, due: number): Promise<unknown> | undefined {
    const reads = this.inFlightReads.get(copy);
    if (!reads) return undefined;
    const earlier = [...reads].filter((r) => r.at < due && (!r.items || r.items.has(id)));
    return earlier.length ? Promise.all(earlier.map((r) => r.done)) : undefined;
  }

  /** Maps copy names in an answer (Responses, UnprocessedKeys, ConsumedCapacity) back to the table's. */
  private renameTables(response: Upstream, back: Record<string, string>): Upstream {
    if (response.status !== 200) return response;
    const out = JSON.parse(response.body) as Json;
    const rename = (name: string) => back[name] ?? name;
    for (const field of ['Responses', 'UnprocessedKeys']) {
      const map = out[field] as Record<string, unknown> | undefined;
      if (map) out[field] = Object.fromEntries(Object.entries(map).map(([k, v]) => [rename(k), v]));
    }
    const capacity = out.ConsumedCapacity as Json | Json[] | undefined;
    for (const entry of Array.isArray(capacity) ? capacity : capacity ? [capacity] : []) {
      if (typeof entry.TableName === 'string') entry.TableName = rename(entry.TableName);
    }
    return { ...response, body: JSON.stringify(out) };
  }

  // ---------------------------------------------------------------------------------------------
  // Replication

  /**
   * Reads each written item back from the leader and applies its image to the quorum follower (the
   * write is acknowledged after this resolves). Returns what to run right after the acknowledgement:
   * scheduling the lagging follower and the index view, whose lag counts from the acknowledgement.
   */
  private async replicate(
    writes: { table: string; key: AttributeMap }[],
  ): Promise<(ackedAt: number) => void> {
    const images = await Promise.all(
      writes.map(({ table, key }) => {
        const id = itemId(table, key);
        const step = (this.quorumChains.get(id) ?? Promise.resolve()).then(async () => {
          const image = await this.readBack(table, key);
          await this.apply(copyName(table, 'follower'), key, image);
          return image;
        });
        const tail = step.then(
          () => undefined,
          () => undefined,
        );
        this.quorumChains.set(id, tail);
        void tail.then(() => {
          if (this.quorumChains.get(id) === tail) this.quorumChains.delete(id);
        });
        return step.then(
          (image) => ({ table, key, id, image }),
          (error: unknown) => {
            this.counters.errors++;
            this.log({ level: 'ERROR', message: `replication of ${id} failed`, error: String(error) });
            return undefined;
          },
        );
      }),
    );
    this.counters.replicatedWrites += writes.length;
    return (ackedAt) => {
      for (const entry of images) {
        if (!entry) continue;
        const info = this.tables.get(entry.table);
        this.lagged(copyName(entry.table, 'lagging'), entry.id, entry.key, entry.image, ackedAt);
        if (info?.hasIndexView)
          this.lagged(copyName(entry.table, 'index'), entry.id, entry.key, entry.image, ackedAt);
      }
    };
  }

  /** Schedules an image on a lagging copy: due a sampled lag after the ack, never before an earlier one. */
  private lagged(
    copy: string,
    id: string,
    key: AttributeMap,
    image: AttributeMap | undefined,
    ackedAt: number,
  ): void {
    const chainId = `${copy}\u0000${id}`;
    const previous = this.laggedChains.get(chainId);
    const due = Math.max(previous?.due ?? 0, ackedAt + sampleLag(this.model, this.random));
    this.counters.pendingLagged++;
    let wake: () => void = () => {};
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const entry = { due, wake, done: Promise.resolve() };
    this.pending.set(chainId, [...(this.pending.get(chainId) ?? []), entry]);
    const tail: Promise<void> = (previous?.tail ?? Promise.resolve())
      .then(() => Promise.race([this.sleepUntil(due), woken]))
      .then(() => (this.flushing ? undefined : this.readsBefore(copy, id, due)))
      .then(() => this.apply(copy, key, image))
      .catch((error: unknown) => {
        this.counters.errors++;
        this.log({ level: 'ERROR', message: `lagged apply to ${copy} failed`, error: String(error) });
      })
      .finally(() => {
        this.counters.pendingLagged--;
        const rest = (this.pending.get(chainId) ?? []).filter((e) => e !== entry);
        if (rest.length) this.pending.set(chainId, rest);
        else this.pending.delete(chainId);
        if (this.laggedChains.get(chainId)?.tail === tail) this.laggedChains.delete(chainId);
      });
    entry.done = tail;
    this.laggedChains.set(chainId, { tail, due });
  }

  /**
   * Before a lagging copy answers, applies what is due there (for `keys`, or all its items): the lag
   * a read sees is then the sampled one, not that plus a late timer or a busy DynamoDB Local.
   */
  private async catchUp(
    copy: string,
    table: string,
    keys: AttributeMap[] | undefined,
    now: number,
  ): Promise<void> {
    const chains = keys
      ? keys.map((key) => `${copy}\u0000${itemId(table, key)}`)
      : [...this.pending.keys()].filter((chainId) => chainId.startsWith(`${copy}\u0000`));
    const waits: Promise<void>[] = [];
    for (const chainId of chains) {
      const due = (this.pending.get(chainId) ?? []).filter((e) => e.due <= now);
      for (const e of due) e.wake();
      const last = due.at(-1);
      if (last) waits.push(last.done);
    }
    await Promise.all(waits);
  }

  private sleepUntil(due: number): Promise<void> {
    const wait = due - performance.now();
    if (wait <= 0 || this.flushing) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, wait);
      this.sleepers.add(wake);
    });
  }

  private async readBack(table: string, key: AttributeMap): Promise<AttributeMap | undefined> {
    const out = await this.call('GetItem', { TableName: table, Key: key, ConsistentRead: true });
    if (out.status !== 200) throw new UpstreamError('GetItem', out);
    return (JSON.parse(out.body) as { Item?: AttributeMap }).Item;
  }

  private async apply(copy: string, key: AttributeMap, image: AttributeMap | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const out = image
        ? await this.call('PutItem', { TableName: copy, Item: image })
        : await this.call('DeleteItem', { TableName: copy, Key: key });
      if (out.status === 200) return;
      if (attempt >= 3) throw new UpstreamError(image ? 'PutItem' : 'DeleteItem', out);
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Copies

  private copyNames(table: string): string[] {
    const info = this.tables.get(table);
    return [
      copyName(table, 'follower'),
      copyName(table, 'lagging'),
      ...(info?.hasIndexView ? [copyName(table, 'index')] : []),
    ];
  }

  private async listBaseTables(): Promise<string[]> {
    const names: string[] = [];
    let start: string | undefined;
    do {
      const out = await this.call('ListTables', start ? { ExclusiveStartTableName: start } : {});
      if (out.status !== 200) throw new UpstreamError('ListTables', out);
      const page = JSON.parse(out.body) as { TableNames?: string[]; LastEvaluatedTableName?: string };
      names.push(...(page.TableNames ?? []));
      start = page.LastEvaluatedTableName;
    } while (start);
    const base = names.filter((name) => !isCopyName(name));
    // Copies whose leader is gone (deleted while replication was off) are dropped.
    for (const orphan of names.filter(
      (name) => isCopyName(name) && !base.some((b) => name.startsWith(`${b}.`)),
    ))
      await this.call('DeleteTable', { TableName: orphan });
    return base;
  }

  private async describe(table: string): Promise<Json> {
    const out = await this.call('DescribeTable', { TableName: table });
    if (out.status !== 200) throw new UpstreamError('DescribeTable', out);
    return (JSON.parse(out.body) as { Table: Json }).Table;
  }

  /**
   * Makes the copies of `table` match its leader: same keys and indexes, same TTL; with `rebuild`
   * (or when a copy is missing or its schema differs) the copy is re-created and filled with the
   * leader's items.
   */
  private async syncCopies(table: string, rebuild: boolean): Promise<void> {
    // The leader, its TTL and its copies are described at once (one round trip instead of four).
    const copyNames = (['follower', 'lagging', 'index'] as const).map((role) => copyName(table, role));
    const [leader, ttl, ...described] = await Promise.all([
      this.describe(table),
      this.call('DescribeTimeToLive', { TableName: table }),
      ...copyNames.map((copy) => this.describe(copy).catch(() => undefined)),
    ]);
    const gsis = (leader.GlobalSecondaryIndexes ?? []) as Json[];
    const info: TableInfo = {
      keyNames: ((leader.KeySchema ?? []) as { AttributeName: string }[]).map((k) => k.AttributeName),
      gsis: new Set(gsis.map((g) => g.IndexName as string)),
      hasIndexView: gsis.length > 0,
    };
    const ttlAttribute =
      ttl.status === 200
        ? ((JSON.parse(ttl.body) as { TimeToLiveDescription?: Json }).TimeToLiveDescription?.AttributeName as
            | string
            | undefined)
        : undefined;
    const roles: CopyRole[] = ['follower', 'lagging', ...(info.hasIndexView ? (['index'] as const) : [])];
    if (!info.hasIndexView && described[2])
      await this.call('DeleteTable', { TableName: copyName(table, 'index') });
    const rebuilt: string[] = [];
    for (const role of roles) {
      const copy = copyName(table, role);
      const existing: Json | undefined = described[copyNames.indexOf(copy)];
      const same = existing !== undefined && schemaOf(existing) === schemaOf(leader) && !rebuild;
      if (same) continue;
      if (existing) await this.call('DeleteTable', { TableName: copy });
      const created = await this.call('CreateTable', createInputFrom(leader, copy));
      if (created.status !== 200) throw new UpstreamError('CreateTable', created);
      if (ttlAttribute)
        await this.call('UpdateTimeToLive', {
          TableName: copy,
          TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
        });
      rebuilt.push(copy);
    }
    this.tables.set(table, info);
    if (rebuilt.length) await this.copyItems(table, rebuilt);
  }

  private async copyItems(table: string, copies: string[]): Promise<void> {
    let start: AttributeMap | undefined;
    let count = 0;
    do {
      const out = await this.call('Scan', {
        TableName: table,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      });
      if (out.status !== 200) throw new UpstreamError('Scan', out);
      const page = JSON.parse(out.body) as { Items?: AttributeMap[]; LastEvaluatedKey?: AttributeMap };
      const items = page.Items ?? [];
      for (let i = 0; i < items.length; i += 25) {
        const batch = items.slice(i, i + 25);
        for (const copy of copies) {
          let pending: Json[] | undefined = batch.map((Item) => ({ PutRequest: { Item } }));
          for (let attempt = 0; pending?.length; attempt++) {
            if (attempt > 8) throw new Error(`copying ${table} to ${copy} left items unprocessed`);
            const written = await this.call('BatchWriteItem', { RequestItems: { [copy]: pending } });
            if (written.status !== 200) throw new UpstreamError('BatchWriteItem', written);
            pending = (JSON.parse(written.body) as { UnprocessedItems?: Record<string, Json[]> })
              .UnprocessedItems?.[copy];
          }
        }
      }
      count += items.length;
      start = page.LastEvaluatedKey;
    } while (start);
    this.log({ message: `replicas of ${table} rebuilt from its leader`, items: count, copies });
  }

  private async updateCopies(table: string, input: Json): Promise<void> {
    const { StreamSpecification: _s, DeletionProtectionEnabled: _d, ...rest } = input;
    const changesIndexes = input.GlobalSecondaryIndexUpdates !== undefined;
    if (changesIndexes) {
      // Index changes alter which copies exist: rebuild them from the leader's new shape.
      await this.syncCopies(table, true);
      return;
    }
    if (Object.keys(rest).length <= 1) return; // only TableName (and leader-only settings)
    for (const copy of this.copyNames(table)) {
      const out = await this.call('UpdateTable', { ...rest, TableName: copy });
      if (out.status !== 200)
        this.log({ level: 'WARN', message: `UpdateTable on ${copy}`, error: out.body.slice(0, 200) });
    }
  }

  private async dropCopies(table: string): Promise<void> {
    for (const role of ['follower', 'lagging', 'index'] as const)
      await this.call('DeleteTable', { TableName: copyName(table, role) });
    this.tables.delete(table);
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP to DynamoDB Local

  private call(operation: string, input: Json, authorization = LOCAL_AUTHORIZATION): Promise<Upstream> {
    return this.send(`${PROTOCOL}.${operation}`, JSON.stringify(input), authorization);
  }

  private send(target: string, body: string, authorization: string): Promise<Upstream> {
    const payload = Buffer.from(body, 'utf8');
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.upstream.hostname,
          port: this.upstream.port,
          method: 'POST',
          path: '/',
          agent: this.agent,
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'content-length': payload.length,
            ...(target ? { 'x-amz-target': target } : {}),
            'x-amz-date': '20250101T000000Z',
            authorization,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 500,
              headers: Object.fromEntries(
                Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
              ),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** The key attributes of an item. */
function pick(item: AttributeMap, names: string[]): AttributeMap {
  return Object.fromEntries(names.map((name) => [name, item[name]]));
}

/** A stable text form of a key (attribute order does not matter). */
function canonical(key: AttributeMap): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map((name) => [name, key[name]]),
  );
}

/** What must match for a copy to be kept: keys and indexes. */
function schemaOf(table: Json): string {
  const indexes = (list: unknown) =>
    ((list ?? []) as Json[])
      .map((i) => [i.IndexName, i.KeySchema])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return JSON.stringify([
    table.KeySchema,
    indexes(table.GlobalSecondaryIndexes),
    indexes(table.LocalSecondaryIndexes),
  ]);
}

/** A CreateTable request for a copy of `leader` (no stream: only the leader has one). */
function createInputFrom(leader: Json, name: string): Json {
  const index = (i: Json) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection });
  const gsis = (leader.GlobalSecondaryIndexes ?? []) as Json[];
  const lsis = (leader.LocalSecondaryIndexes ?? []) as Json[];
  return {
    TableName: name,
    KeySchema: leader.KeySchema,
    AttributeDefinitions: leader.AttributeDefinitions,
    BillingMode: 'PAY_PER_REQUEST',
    ...(gsis.length ? { GlobalSecondaryIndexes: gsis.map(index) } : {}),
    ...(lsis.length ? { LocalSecondaryIndexes: lsis.map(index) } : {}),
  };
}
