import { createWriteStream, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { requireEnv } from '../../config.ts';
import { athenaClient } from '../../platform/adapters/aws-clients.ts';
import { CURATED_SCHEMAS, type ParquetType } from '../domain/records.ts';
import { REPORT_SQL } from '../domain/sql.ts';
import { CURATED_TABLES, getStream, listKeys, type Zone } from './lake.ts';
import { createScratchDir, removeScratchDir } from './scratch.ts';

export type Row = Record<string, unknown>;

/** The part of @duckdb/node-api's connection used here (the module is loaded only when DuckDB is the engine). */
interface DuckConnection {
  runAndReadAll(sql: string): Promise<{ getRowObjectsJS(): Row[] }>;
  run(sql: string): Promise<unknown>;
  closeSync(): void;
}

/** Where the aggregate SQL runs. Chosen by configuration (`QUERY_ENGINE`), set per target by the stack. */
export interface QueryEngine {
  readonly name: string;
  query(sql: string): Promise<Row[]>;
  close(): Promise<void>;
}

export async function queryEngine(env: NodeJS.ProcessEnv = process.env): Promise<QueryEngine> {
  const engine = env.QUERY_ENGINE ?? 'duckdb';
  if (engine === 'athena') return new AthenaEngine();
  if (engine === 'duckdb') return DuckDbEngine.overLake({ zones: { curated: [...CURATED_TABLES] } });
  throw new Error(`QUERY_ENGINE must be athena or duckdb, got ${engine}`);
}

export interface DuckDbOptions {
  /** Scratch directory: DuckDB's `temp_directory`, where it spills past its memory limit. */
  dir?: string;
  /** DuckDB's `memory_limit` (buffer manager: sorts, hash tables, temp tables). */
  memoryLimitMB?: number;
  /** @default 1 */
  threads?: number;
}

/**
 * Freed memory DuckDB hands back to the OS once this much is freed (its `allocator_*_flush_threshold`
 * settings; the defaults are 128 and 512 MB). Without jemalloc (not in the npm build), glibc keeps
 * what DuckDB frees: after one stage of the transform RSS stayed where the stage peaked, and the next
 * stage's peak came on top (1M orders: 568 MB peak RSS, 488 MB with 16 MB).
 */
const FLUSH_THRESHOLD = '16MB';

/**
 * DuckDB's settings: bounded memory (freed memory returned to the OS), spilling under `dir`, output
 * in insertion order.
 */
export function duckSettings(options: DuckDbOptions): Record<string, string> {
  return {
    threads: String(options.threads ?? 1),
    ...(options.memoryLimitMB && {
      memory_limit: `${options.memoryLimitMB}MB`,
      allocator_flush_threshold: FLUSH_THRESHOLD,
      allocator_bulk_deallocation_flush_threshold: FLUSH_THRESHOLD,
    }),
    ...(options.dir && { temp_directory: options.dir }),
    preserve_insertion_order: 'true',
  };
}

/**
 * What the ETL's DuckDB may use: `ETL_DUCKDB_MEMORY_MB` (default: half the function's memory, which
 * leaves the rest to Node and DuckDB's allocations outside its buffer manager; 256 MB off Lambda)
 * and `ETL_DUCKDB_THREADS` (default: the cores the process may use).
 */
export function duckResources(env: NodeJS.ProcessEnv = process.env): Required<Omit<DuckDbOptions, 'dir'>> {
  const functionMB = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return {
    memoryLimitMB: Number(env.ETL_DUCKDB_MEMORY_MB) || (functionMB ? Math.floor(functionMB / 2) : 256),
    threads: Number(env.ETL_DUCKDB_THREADS) || availableParallelism(),
  };
}

/**
 * DuckDB (embedded, the npm package) over a local copy of lake tables: each table's Parquet files
 * are downloaded into a temporary directory (Hive layout kept) and exposed as a view
 * `<zone>_<table>` with its `dt` partition column. Extensions such as httpfs are not needed.
 */
export class DuckDbEngine implements QueryEngine {
  readonly name = 'duckdb';
  private readonly connection: DuckConnection;
  private readonly instance: { closeSync(): void };
  private readonly dir: string | undefined;

  private constructor(instance: { closeSync(): void }, connection: DuckConnection, dir: string | undefined) {
    this.instance = instance;
    this.connection = connection;
    this.dir = dir;
  }

  /**
   * An empty in-memory DuckDB. With `dir`, it spills there past `memoryLimitMB` (and `close()`
   * removes the directory); `threads` defaults to 1.
   */
  static async create(options: DuckDbOptions = {}): Promise<DuckDbEngine> {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:', duckSettings(options));
    const connection = await instance.connect();
    return new DuckDbEngine(instance, connection as never, options.dir);
  }

  static async overLake(options: { zones: Partial<Record<Zone, string[]>> }): Promise<DuckDbEngine> {
    const dir = createScratchDir('duckdb');
    const engine = await DuckDbEngine.create({ dir, ...duckResources() });
    for (const [zone, tables] of Object.entries(options.zones) as [Zone, string[]][]) {
      for (const table of tables) {
        const objects = (await listKeys(zone, `${table}/`)).filter((o) => o.key.endsWith('.parquet'));
        const local = path.join(dir, zone, table);
        for (const object of objects) {
          const file = path.join(dir, zone, object.key);
          mkdirSync(path.dirname(file), { recursive: true });
          await pipeline(await getStream(zone, object.key), createWriteStream(file));
        }
        const view = `${zone}_${table}`;
        if (objects.length) {
          await engine.connection.run(
            `create view ${view} as select * from read_parquet('${local}/*/*.parquet', hive_partitioning = true, hive_types = {'dt': varchar})`,
          );
        } else if (LAKE_SCHEMAS[table]) {
          // An empty lake (the first run, or a day without orders) has no files: an empty view with
          // the table's columns, as the Glue table is on AWS, so the report SQL finds what it names.
          await engine.connection.run(emptyView(view, LAKE_SCHEMAS[table]));
        }
      }
    }
    return engine;
  }

  async query(sql: string): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJS();
  }

  async run(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    if (this.dir) removeScratchDir(this.dir);
  }
}

export const DUCK_TYPES: Record<ParquetType, string> = {
  STRING: 'varchar',
  INT32: 'integer',
  INT64: 'bigint',
  DOUBLE: 'double',
  TIMESTAMP: 'timestamp',
};

/** Columns of every lake table, curated and analytics (each with its `dt` partition). */
const LAKE_SCHEMAS: Record<string, readonly (readonly [string, ParquetType])[]> = {
  ...CURATED_SCHEMAS,
  ...Object.fromEntries(
    Object.entries(REPORT_SQL).map(([name, spec]) => [name, spec.columns.filter(([c]) => c !== 'dt')]),
  ),
};

/** `create view <name>` with the columns and no rows. */
export function emptyView(name: string, columns: readonly (readonly [string, ParquetType])[]): string {
  const list = [...columns, ['dt', 'STRING'] as const]
    .map(([column, type]) => `cast(null as ${DUCK_TYPES[type]}) as ${column}`)
    .join(', ');
  return `create view ${name} as select ${list} where false`;
}

/**
 * Athena over the Glue tables `curated_orders` and `curated_order_items` (partition projection on
 * `dt`), in the ETL workgroup (`ATHENA_WORKGROUP`, which sets the results location and a scan limit).
 */
export class AthenaEngine implements QueryEngine {
  readonly name = 'athena';
  private readonly client = athenaClient();

  async query(sql: string): Promise<Row[]> {
    const started = await this.client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: requireEnv('ATHENA_WORKGROUP'),
        QueryExecutionContext: { Database: requireEnv('GLUE_DATABASE') },
      }),
    );
    const id = started.QueryExecutionId as string;
    for (let wait = 200; ; wait = Math.min(wait * 2, 5000)) {
      const status = await this.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      const state = status.QueryExecution?.Status?.State;
      if (state === 'SUCCEEDED') break;
      if (state === 'FAILED' || state === 'CANCELLED')
        throw new Error(`Athena query ${id} ${state}: ${status.QueryExecution?.Status?.StateChangeReason}`);
      await new Promise((r) => setTimeout(r, wait));
    }
    const rows: Row[] = [];
    let token: string | undefined;
    let columns: { name: string; type: string }[] = [];
    let first = true;
    do {
      const page = await this.client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }),
      );
      columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => ({
        name: c.Name ?? '',
        type: c.Type ?? 'varchar',
      }));
      for (const [i, row] of (page.ResultSet?.Rows ?? []).entries()) {
        if (first && i === 0) continue; // the header row
        rows.push(
          Object.fromEntries(
            columns.map((c, j) => {
              const v = row.Data?.[j]?.VarCharValue;
              if (v === undefined) return [c.name, null];
              if (c.type === 'bigint' || c.type === 'integer') return [c.name, BigInt(v)];
              if (c.type === 'double' || c.type === 'float') return [c.name, Number(v)];
              return [c.name, v];
            }),
          ),
        );
      }
      first = false;
      token = page.NextToken;
    } while (token);
    return rows;
  }

  async close(): Promise<void> {}
}
