import { once } from 'node:events';
import { createWriteStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';

/**
 * gzip JSON Lines written to a file, with backpressure. Same lines in, same bytes out (Node's gzip
 * header carries no timestamp), so a re-extract of unchanged data leaves byte-identical objects.
 */
export class GzipLinesFile {
  readonly file: string;
  private readonly gzip = createGzip({ level: 6 });
  private readonly done: Promise<unknown>;
  lines = 0;
  rawBytes = 0;

  constructor(file: string) {
    this.file = file;
    const out = createWriteStream(file);
    this.gzip.pipe(out);
    this.done = once(out, 'finish');
  }

  async write(line: string): Promise<void> {
    this.lines++;
    this.rawBytes += Buffer.byteLength(line) + 1;
    if (!this.gzip.write(`${line}\n`)) await once(this.gzip, 'drain');
  }

  /** Finishes the file; resolves to its size in bytes. */
  async close(): Promise<number> {
    this.gzip.end();
    await this.done;
    return statSync(this.file).size;
  }
}

/** The lines of a gzip JSON Lines stream, read as they arrive. */
export function gunzipLines(body: Readable): AsyncIterable<string> {
  return createInterface({ input: body.pipe(createGunzip()), crlfDelay: Number.POSITIVE_INFINITY });
}
