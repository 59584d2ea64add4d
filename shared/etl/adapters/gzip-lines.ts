import { once } from 'node:events';
import { createWriteStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

/**
 * gzip JSON Lines written to a file, with backpressure. Same lines in, same bytes out (Node's gzip
 * header carries no timestamp), so a re-extract of unchanged data leaves byte-identical objects.
 * gzip and file are joined by `stream.pipeline`: a failed write (disk full) rejects the next
 * `write` or `close` instead of leaving it waiting for a drain that never comes.
 */
export class GzipLinesFile {
  readonly file: string;
  private readonly gzip = createGzip({ level: 6 });
  private readonly done: Promise<void>;
  private failure: Error | undefined;
  lines = 0;
  rawBytes = 0;

  constructor(file: string) {
    this.file = file;
    this.done = pipeline(this.gzip, createWriteStream(file));
    this.done.catch((error: Error) => {
      this.failure = error;
    });
  }

  async write(line: string): Promise<void> {
    if (this.failure) throw this.failure;
    this.lines++;
    this.rawBytes += Buffer.byteLength(line) + 1;
    if (!this.gzip.write(`${line}\n`)) await Promise.race([once(this.gzip, 'drain'), this.done]);
    if (this.failure) throw this.failure;
  }

  /** Finishes the file; resolves to its size in bytes. */
  async close(): Promise<number> {
    this.gzip.end();
    await this.done;
    return statSync(this.file).size;
  }
}

/**
 * The lines of a gzip JSON Lines stream, read as they arrive. Source, gunzip and reader are joined by
 * `stream.pipeline`, so an error anywhere (the S3 body's socket reset, corrupt gzip) ends the
 * iteration with that error; `Readable.pipe` would leave the reader waiting forever.
 */
export async function* gunzipLines(body: Readable): AsyncGenerator<string> {
  const text = new PassThrough();
  const piped = pipeline(body, createGunzip(), text);
  let failure: Error | undefined;
  piped.catch((error: Error) => {
    failure = error;
    // readline does not see errors of its input: end it so the loop below wakes up and rethrows.
    text.destroy(error);
  });
  const lines = createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (failure) break;
      yield line;
    }
    await piped;
    if (failure) throw failure;
  } finally {
    lines.close();
    if (!body.destroyed) body.destroy();
  }
}
