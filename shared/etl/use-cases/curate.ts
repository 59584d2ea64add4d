/**
 * raw → curated in SQL, on embedded DuckDB: validation (a reason per rejected record),
 * de-duplication (latest version of each key wins), enrichment and the Parquet writing all run
 * inside DuckDB's vectorised engine, which spills to its `temp_directory` instead of growing past
 * its `memory_limit`. Node only moves files.
 *
 * Each record is checked in the order the reasons below are listed. A table's raw files (gzip JSON
 * Lines) are read one of two ways, with the same checks and the same result:
 * - **fast path**, tried first: DuckDB's JSON reader (`read_json`, the fields typed as the table
 *   spec says) straight into the de-duplication. It only succeeds when every record is valid: a
 *   line that is not one JSON object stops the reader, a record that fails a check stops the query
 *   (`error()`), and then
 * - **exact path**: the files read as lines (one VARCHAR column, blank lines kept so line numbers
 *   are those of the file), each parsed into its fields (`from_json`, the same field types) and
 *   checked, so that every rejected line is found with its reason, its line number and its text.
 * A day with a bad line thus costs both (the fast try, then the exact path); a clean day only the
 * first. Both keep the same records: a line of only spaces, tabs or CRs is blank (skipped, as the
 * JSON reader skips it), and `read_json` and `from_json` give a field the same value.
 *
 * Output:
 * - the curated Parquet file: the winners, typed as {@link CURATED_SCHEMAS} says, in key order;
 * - the quarantine file (gzip JSON Lines): `{ reason, object, line, record }` per rejected line.
 *
 * Same files in, same bytes out: rows are ordered by key, the winner of a key does not depend on
 * the order of the lines (see `winnersSql`), the Parquet writer's settings are fixed, and the gzip
 * of the quarantine carries no timestamp.
 *
 * @example
 * const engine = await DuckDbEngine.create({ dir, memoryLimitMB: 512 });
 * await curateTable(engine, { table: 'products', files, parquet: 'p.parquet', quarantine: 'p.jsonl.gz' });
 * await curateTable(engine, { table: 'order_items', files, parquet: 'i.parquet', quarantine: 'i.jsonl.gz' });
 */
import { REGIONS } from '../../../events/schemas.ts';
import { DUCK_TYPES, type DuckDbEngine } from '../adapters/engines.ts';
import { CURATED_SCHEMAS } from '../domain/records.ts';

export type CuratedTableName = keyof typeof CURATED_SCHEMAS;

/** A raw file on local disk and the lake key it was read from (named in the quarantine). */
export interface RawFile {
  file: string;
  key: string;
}

export interface CurateStats {
  rowsRead: number;
  rowsWritten: number;
  rowsQuarantined: number;
  duplicates: number;
  /** Which path curated the table: `fast` (every record valid) or `exact` (see the module's TSDoc). */
  path: 'fast' | 'exact';
}

/** Timestamps are instants: written as Parquet timestamps adjusted to UTC (microseconds). */
const CURATED_TYPES = { ...DUCK_TYPES, TIMESTAMP: 'timestamptz' };

/** Rows per Parquet row group: fixed, so the file's layout does not depend on the thread count. */
const ROW_GROUP_ROWS = 122_880;

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');
const UUID_RE = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** Postgres' JSON rendering of timestamptz: `2025-05-01T10:00:00.123456+00:00` (fraction optional). */
const PG_TIMESTAMP = ['Z', '+__:__', '-__:__'].map((zone) => `s like '____-__-__T__:__:__%${zone}'`);

/**
 * Helpers over the fields, as macros so the table specs below read like the checks they are.
 * Fields are read as VARCHAR (a string's text; other values' JSON text) where the checks reject
 * whatever is not the expected string anyway, and as JSON text where the JSON type matters.
 */
const MACROS = [
  // A JSON string's text (NULL for any other JSON value).
  `create or replace macro str(v) as case when starts_with(v::varchar, '"') then json_extract_string(v, '$') end`,
  // A JSON number as a double (NULL for strings, booleans, objects...).
  `create or replace macro num(v) as try_cast(v::varchar as double)`,
  // An integer within JavaScript's safe range, at least lo (5.0 counts, as with JSON.parse).
  `create or replace macro is_int(d, lo) as coalesce(d = floor(d) and d between lo and 9007199254740991, false)`,
  // How JSON.stringify shows a value in a reason: JSON text, 'undefined' when absent.
  `create or replace macro shown(v) as coalesce(to_json(v)::varchar, 'undefined')`,
  // Microseconds since the epoch of a Postgres timestamptz text (NULL when it is not one).
  // (The shape by LIKE, the digits, the fraction and the calendar by the cast.)
  `create or replace macro micros(s) as case when ${PG_TIMESTAMP.join(' or ')}
     then epoch_us(try_cast(s as timestamptz)) end`,
  `create or replace macro utc_date(us) as strftime(make_timestamp(us), '%Y-%m-%d')`,
];

interface TableSpec {
  /** Fields read from each raw record, as `j."<field>"`, VARCHAR or JSON (NULL when absent). */
  fields: Record<string, 'VARCHAR' | 'JSON'>;
  /** Typed values computed once per record from the fields (NULL when a field has another type). */
  values: Record<string, string>;
  /** `[condition over the values that fails, reason]` in order: the first that holds names the rejection. */
  checks: [string, string][];
  /** The curated columns (in {@link CURATED_SCHEMAS} order) as expressions over the values. */
  columns: Record<string, string>;
  /** De-duplication key (columns of the values) and version: the latest version wins (see `winnersSql`). */
  key: string[];
  version: string;
  /** Joins the curated row may use (the catalog for order lines). */
  join?: string;
}

const UUID_CHECK: [string, string] = [
  `not regexp_matches(coalesce(order_id, ''), '${UUID_RE}')`,
  `'order_id is not a UUID'`,
];
const REGION_CHECK: [string, string] = [
  `coalesce(region, '') not in (${list(REGIONS)})`,
  `'region ' || shown(region) || ' is unknown'`,
];

const SPECS: Record<CuratedTableName, TableSpec> = {
  orders: {
    fields: {
      order_id: 'VARCHAR',
      region: 'VARCHAR',
      user_id: 'JSON',
      status: 'VARCHAR',
      total_cents: 'JSON',
      created_at: 'VARCHAR',
      updated_at: 'VARCHAR',
    },
    values: {
      order_id: 'j.order_id',
      region: 'j.region',
      user_id: 'str(j.user_id)',
      status: 'j.status',
      total: 'num(j.total_cents)',
      created_us: 'micros(j.created_at)',
      updated_us: 'micros(j.updated_at)',
    },
    checks: [
      UUID_CHECK,
      REGION_CHECK,
      [`coalesce(user_id, '') = ''`, `'user_id is missing'`],
      [`coalesce(status, '') not in ('PLACED', 'CANCELLED')`, `'status ' || shown(status) || ' is unknown'`],
      [`not is_int(total, 0)`, `'total_cents is not a non-negative integer'`],
      [`created_us is null`, `'created_at is not a timestamp'`],
      [`updated_us is null`, `'updated_at is not a timestamp'`],
      [`updated_us < created_us`, `'updated_at is before created_at'`],
    ],
    columns: {
      order_id: 'order_id',
      region: 'region',
      user_id: 'user_id',
      status: 'status',
      total_cents: 'total',
      created_at: 'make_timestamp(created_us)',
      updated_at: 'make_timestamp(updated_us)',
      version: 'updated_us',
      order_date: 'utc_date(created_us)',
    },
    key: ['order_id'],
    version: 'updated_us',
  },
  order_items: {
    fields: {
      order_id: 'VARCHAR',
      region: 'VARCHAR',
      product_id: 'JSON',
      quantity: 'JSON',
      unit_price_cents: 'JSON',
      order_updated_at: 'VARCHAR',
      order_created_at: 'VARCHAR',
    },
    values: {
      order_id: 'j.order_id',
      region: 'j.region',
      product_id: 'str(j.product_id)',
      quantity: 'num(j.quantity)',
      unit_price_cents: 'num(j.unit_price_cents)',
      updated_us: 'micros(j.order_updated_at)',
      created_us: 'micros(j.order_created_at)',
    },
    checks: [
      UUID_CHECK,
      REGION_CHECK,
      [`coalesce(product_id, '') = ''`, `'product_id is missing'`],
      [`not is_int(quantity, 1)`, `'quantity is not a positive integer'`],
      [`not is_int(unit_price_cents, 0)`, `'unit_price_cents is not a non-negative integer'`],
      [`updated_us is null or created_us is null`, `'the order timestamps are missing'`],
    ],
    columns: {
      order_id: 'order_id',
      region: 'region',
      product_id: 'product_id',
      quantity: 'quantity',
      unit_price_cents: 'unit_price_cents',
      line_cents: 'unit_price_cents::bigint * quantity::bigint',
      // From the catalog snapshot curated in the same run; `unknown` when the product is gone.
      product_name: `coalesce(catalog_name, 'unknown')`,
      category: `coalesce(catalog_category, 'unknown')`,
      version: 'updated_us',
      order_date: 'utc_date(created_us)',
    },
    // Order ids are UUIDs (one length): ordered by (order_id, product_id) as by `order_id#product_id`.
    key: ['order_id', 'product_id'],
    version: 'updated_us',
    join: 'left join catalog on catalog_id = r.product_id',
  },
  products: {
    // The catalog table's own item layout (see catalog-table.ts).
    fields: {
      productId: 'JSON',
      name: 'JSON',
      category: 'JSON',
      priceCents: 'JSON',
      currency: 'JSON',
      version: 'JSON',
    },
    values: {
      product_id: 'str(j.productId)',
      name: 'str(j.name)',
      category: 'str(j.category)',
      price_cents: 'num(j.priceCents)',
      currency: `coalesce(str(j.currency), 'EUR')`,
      version: 'case when is_int(num(j.version), -9007199254740991) then num(j.version) else 0 end',
    },
    checks: [
      [`coalesce(product_id, '') = ''`, `'productId is missing'`],
      [`name is null`, `'name is missing'`],
      [`category is null`, `'category is missing'`],
      [`not is_int(price_cents, 0)`, `'priceCents is not a non-negative integer'`],
    ],
    columns: {
      product_id: 'product_id',
      name: 'name',
      category: 'category',
      price_cents: 'price_cents',
      currency: 'currency',
    },
    key: ['product_id'],
    version: 'version',
  },
};

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** 2^64: the version's weight in the tie-break (above any 64-bit hash). */
const HASH_RANGE = '18446744073709551616';

/**
 * The winner of each key, as a `select` over `source` (rows of the spec's values that passed every
 * check): the latest version, and between equal versions the one whose values hash highest (DuckDB's
 * `hash`, a fixed function of the values), so the winner does not depend on the order lines are read.
 * Each value is taken with `arg_max(value, tie)`, `tie` being the version and the hash in one
 * HUGEINT: a fixed-size aggregate state (a `max` over a struct of the values compared their sort
 * keys, held outside DuckDB's memory limit: at 1M orders that was about 300 MB more RSS).
 */
function winnersSql(spec: TableSpec, source: string): string {
  const names = Object.keys(spec.values);
  const tie = `${spec.version}::hugeint * ${HASH_RANGE} + hash(${names.join(', ')})::hugeint`;
  const values = names.filter((name) => !spec.key.includes(name));
  return `select ${spec.key.join(', ')},
      ${values.map((name) => `arg_max(${name}, tie) as ${name}`).join(', ')}
    from (select *, ${tie} as tie from (${source}))
    group by ${spec.key.join(', ')}`;
}

/** The typed values of the spec, as a select list over the fields `j.<field>`. */
const valuesList = (spec: TableSpec) =>
  Object.entries(spec.values)
    .map(([name, expr]) => `${expr} as ${name}`)
    .join(', ');

/** The spec's checks as one CASE: the first that fails names the reason (NULL: valid). */
const checksCase = (spec: TableSpec, before: string[] = []) =>
  `case ${[...before, ...spec.checks.map(([failed, why]) => `when ${failed} then ${why}`)].join('\n        ')} end`;

/**
 * Fast path: the records of every file, read by `read_json` with the spec's field types, typed and
 * checked as the exact path does (same columns, `blank` and `reason` always false and NULL). Fails
 * (throws) when a line is not one JSON object, or when a record fails a check (`error()`): then
 * only the exact path can name the rejected lines.
 */
function fastChecked(spec: TableSpec, files: RawFile[]): string {
  const columns = `{${Object.entries(spec.fields)
    .map(([field, type]) => `${sqlString(field)}: '${type}'`)
    .join(', ')}}`;
  const read = `read_json([${files.map((f) => sqlString(f.file)).join(', ')}],
    format = 'newline_delimited', records = true, columns = ${columns}, compression = 'gzip')`;
  return `select false as blank, null::varchar as reason, ${Object.keys(spec.values).join(', ')} from (
      select *, ${checksCase(spec)} as failed from (select ${valuesList(spec)} from ${read} as j)
    ) where case when failed is null then true else error('rejected: ' || failed) end`;
}

/**
 * Validates, de-duplicates and writes one table: `parquet` gets the curated rows (always written,
 * empty with its schema when nothing is valid), `quarantine` the rejected lines (written only when
 * there are some). `products` must be curated before `order_items` on the same engine: the lines
 * are enriched from it. `exact: true` skips the fast path (the tests compare both).
 */
export async function curateTable(
  engine: DuckDbEngine,
  options: {
    table: CuratedTableName;
    files: RawFile[];
    parquet: string;
    quarantine: string;
    exact?: boolean;
  },
): Promise<CurateStats> {
  const { table, files } = options;
  const spec = SPECS[table];
  for (const macro of MACROS) await engine.run(macro);
  const checked = `checked_${table}`;
  let path: CurateStats['path'] = 'exact';
  if (files.length && !options.exact) {
    try {
      await engine.run(`create or replace temp table ${checked} as ${fastChecked(spec, files)}`);
      path = 'fast';
    } catch {
      // A line that is not one JSON object, or a record that fails a check: the exact path says
      // which. (Any other failure, such as a full disk, fails the exact path too, and is thrown there.)
    }
  }
  if (path === 'exact') await checkLines(engine, spec, checked, files);
  const [counts] = await engine.query(`select count(*) filter (where not blank) as read,
      count(reason) as rejected from ${checked}`);
  const winners = winnersSql(spec, `select * from ${checked} where reason is null and not blank`);
  const columns = CURATED_SCHEMAS[table]
    .map(([name, type]) => `cast(${spec.columns[name]} as ${CURATED_TYPES[type]}) as ${name}`)
    .join(', ');
  const ordered = `select ${columns} from (${winners}) as r ${spec.join ?? ''}
    order by ${spec.key.map((k) => `r.${k}`).join(', ')}`;
  if (table === 'products') {
    await engine.run(`create or replace temp table catalog as
      select product_id as catalog_id, name as catalog_name, category as catalog_category
      from (${ordered})`);
  }
  const [copied] = await engine.query(`copy (${ordered}) to ${sqlString(options.parquet)}
    (format parquet, compression snappy, row_group_size ${ROW_GROUP_ROWS})`);
  const written = Number(copied?.Count);
  const stats: CurateStats = {
    rowsRead: Number(counts?.read),
    rowsQuarantined: Number(counts?.rejected),
    rowsWritten: written,
    duplicates: Number(counts?.read) - Number(counts?.rejected) - written,
    path,
  };
  if (stats.rowsQuarantined > 0) {
    // Line numbers only for what is rejected: a second, ordered read of the files (one thread per
    // file), joined with the rejected lines. The common path, nothing rejected, never pays for it.
    const numbered = files
      .map(
        (f) =>
          `select ${sqlString(f.key)} as object, line, row_number() over () as line_no from ${readLines(f)}`,
      )
      .join(' union all ');
    // One JSON object per line, written as text: the field order and the record's exact text kept.
    await engine.run(`copy (
        select json_object('reason', r.reason, 'object', object, 'line', line_no, 'record', line)::varchar
        from (${numbered}) as numbered
        join (select distinct object, line, reason from ${checked} where reason is not null) as r
          using (object, line)
        order by object, line_no
      ) to ${sqlString(options.quarantine)}
      (format csv, header false, quote '', escape '', delim '\\0', compression gzip)`);
  }
  await engine.run(`drop table ${checked}`);
  return stats;
}

/** A raw file as lines: one VARCHAR column, no quoting, blank lines kept (NULL). */
const readLines = (f: RawFile) =>
  `read_csv(${sqlString(f.file)}, columns = {'line': 'VARCHAR'}, header = false, delim = '\\0',
     quote = '', escape = '', auto_detect = false, compression = 'gzip')`;

/**
 * Exact path: every line of every file (blank lines too, read in parallel) parsed once into its
 * fields, each typed value and check computed once, into the temp table `checked` with `blank`,
 * `reason` (NULL: valid), the line's text when rejected, and the values.
 */
async function checkLines(
  engine: DuckDbEngine,
  spec: TableSpec,
  checked: string,
  files: RawFile[],
): Promise<void> {
  const lines = files.length
    ? files.map((f) => `select ${sqlString(f.key)} as object, line from ${readLines(f)}`).join(' union all ')
    : `select null::varchar as object, null::varchar as line where false`;
  const struct = JSON.stringify(spec.fields);
  const reason = checksCase(spec, [
    `when blank then null`,
    // from_json gives NULL for text that is not JSON, all-NULL fields for JSON that is no object.
    `when j is null and not json_valid(line) then 'invalid JSON: the line is not one JSON value'`,
    `when j is null or not starts_with(ltrim(line), '{') then 'invalid JSON: not an object'`,
  ]);
  // Blank: nothing but the JSON whitespace a line can hold (as read_json skips such lines).
  await engine.run(`create or replace temp table ${checked} as
    select object, blank, reason, case when reason is not null then line end as line,
           ${Object.keys(spec.values).join(', ')}
    from (
      select *, ${reason} as reason
      from (
        select object, line, j, trim(coalesce(line, ''), ' ' || chr(9) || chr(13)) = '' as blank,
               ${valuesList(spec)}
        from (select *, try(from_json(line, '${struct}')) as j from (${lines}))
      )
    )`);
}
