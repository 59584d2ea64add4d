import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BenchResults, README_END, README_START, renderMarkdown } from '../../bench/lib/report.ts';

const root = path.resolve(import.meta.dirname, '../..');

describe("README's benchmark section", () => {
  it('is the rendering of the newest bench/results file (numbers not typed by hand)', () => {
    const files = readdirSync(path.join(root, 'bench/results'))
      .filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f))
      .sort();
    const newest = files.at(-1);
    expect(newest, 'no bench/results/<date>.json: run npm run bench').toBeDefined();
    const file = `bench/results/${newest}`;
    const results = JSON.parse(readFileSync(path.join(root, file), 'utf8')) as BenchResults;
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const start = readme.indexOf(README_START);
    const end = readme.indexOf(README_END);
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    expect(readme.slice(start + README_START.length, end).trim()).toBe(renderMarkdown(results, file).trim());
  });
});
