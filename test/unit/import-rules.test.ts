import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** `.ts`/`.tsx` files under `dir` (relative to the repository root). */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

/** Module specifiers a file imports: static, type-only, re-exports and dynamic `import()`. */
function importsOf(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return specifiers.map((m) => m[1] as string);
}

/** The AWS SDK and the Postgres driver: only adapters may talk to them. */
const isStoreClient = (specifier: string) => /^(@aws-sdk\/|pg$|pg\/|pg-copy-streams$)/.test(specifier);
/** Where app code may import them: a bounded context's adapters (`shared/<context>/adapters/**`). */
const isAdapter = (file: string) => /^shared\/[^/]+\/adapters\//.test(file);

describe('adapters are the only door to AWS and Postgres', () => {
  it('finds the imports it checks (static, type-only, dynamic)', () => {
    const sample = `import pg from 'pg';\nimport type { X } from '@aws-sdk/client-s3';\nconst m = await import('@aws-sdk/lib-dynamodb');\nexport { y } from './y.ts';`;
    expect(importsOf(sample)).toEqual(['pg', '@aws-sdk/client-s3', './y.ts', '@aws-sdk/lib-dynamodb']);
    expect(isAdapter('shared/orders/adapters/orders-db.ts')).toBe(true);
    expect(isAdapter('shared/orders/domain.ts')).toBe(false);
    expect(isAdapter('functions/orders/api.ts')).toBe(false);
  });

  it('no file of shared/, functions/, events/ or web/ outside shared/*/adapters imports @aws-sdk/* or pg', () => {
    const files = ['shared', 'functions', 'events', 'web/src'].flatMap(sources);
    expect(files.length).toBeGreaterThan(50);
    const offenders = files
      .filter((file) => !isAdapter(file))
      .flatMap((file) =>
        importsOf(readFileSync(path.join(ROOT, file), 'utf8'))
          .filter(isStoreClient)
          .map((specifier) => `${file} imports ${specifier}`),
      );
    expect(offenders).toEqual([]);
  });
});
