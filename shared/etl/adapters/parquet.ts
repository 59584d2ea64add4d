import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import type { ParquetType } from '../domain/records.ts';

type Column = readonly [name: string, type: ParquetType];

const SCHEMA_TYPES: Record<ParquetType, Record<string, unknown>> = {
  STRING: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  INT32: { type: 'INT32' },
  INT64: { type: 'INT64' },
  DOUBLE: { type: 'DOUBLE' },
  TIMESTAMP: {
    type: 'INT64',
    converted_type: 'TIMESTAMP_MILLIS',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
  },
};

/**
 * Writes rows to a Parquet file on disk one row group at a time: memory holds at most
 * `rowGroupRows` rows, whatever the file's size. Same rows in, same bytes out (no timestamps
 * or random ids in the file), which makes re-runs byte-identical.
 */
export class ParquetFile {
  private readonly writer: ParquetWriter;
  private readonly columns: readonly Column[];
  private readonly rowGroupRows: number;
  private buffer: unknown[][];
  rows = 0;

  constructor(file: string, columns: readonly Column[], options: { rowGroupRows?: number } = {}) {
    this.columns = columns;
    this.rowGroupRows = options.rowGroupRows ?? 50_000;
    this.buffer = columns.map(() => []);
    this.writer = new ParquetWriter({
      writer: fileWriter(file),
      schema: [
        { name: 'root', num_children: columns.length },
        ...columns.map(([name, type]) => ({ name, repetition_type: 'OPTIONAL', ...SCHEMA_TYPES[type] })),
      ] as never,
      createdBy: 'serverless-shop etl',
    });
  }

  append(row: Record<string, unknown>): void {
    this.columns.forEach(([name, type], i) => {
      const value = row[name];
      (this.buffer[i] as unknown[]).push(
        value === undefined || value === null
          ? null
          : type === 'INT64'
            ? BigInt(value as bigint)
            : type === 'TIMESTAMP'
              ? BigInt((value as Date).getTime())
              : value,
      );
    });
    this.rows++;
    if ((this.buffer[0] as unknown[]).length >= this.rowGroupRows) this.flush();
  }

  private flush(): void {
    const n = (this.buffer[0] as unknown[]).length;
    if (!n) return;
    this.writer.write({
      columnData: this.columns.map(([name], i) => ({ name, data: this.buffer[i] as never })),
      rowGroupSize: n,
    });
    this.buffer = this.columns.map(() => []);
  }

  /** Writes the last row group and the footer. */
  close(): void {
    this.flush();
    this.writer.finish();
  }
}
