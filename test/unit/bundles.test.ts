import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import esbuild from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  buildAll,
  EXTERNAL_MODULES,
  handlerEntries,
  writeBundle,
  writeBundleFiles,
} from '../../infra/constructs/bundles.ts';

afterEach(() => vi.unstubAllEnvs());

describe('Lambda bundles (infra/constructs/bundles.ts)', () => {
  it('finds every handler under functions/ and no test file', () => {
    const entries = handlerEntries();
    expect(entries).toContain('functions/platform/health.ts');
    expect(entries).toContain('functions/etl/steps.ts');
    expect(
      entries.every((e) => e.startsWith('functions/') && e.endsWith('.ts') && !e.endsWith('.test.ts')),
    ).toBe(true);
  });

  it('builds several handlers with ONE esbuild call, each a self-contained file with its own source map', () => {
    const buildSync = vi.fn(esbuild.buildSync);
    const entries = ['functions/platform/health.ts', 'functions/etl/runs-api.ts'];
    const bundles = buildAll(entries, undefined, buildSync);
    expect(buildSync).toHaveBeenCalledTimes(1);
    const options = buildSync.mock.calls[0]?.[0] as esbuild.BuildOptions;
    expect(options).toMatchObject({
      bundle: true,
      splitting: false,
      format: 'esm',
      platform: 'node',
      minify: true,
    });
    expect(options.external).toEqual([...EXTERNAL_MODULES]);
    expect([...bundles.keys()]).toEqual(entries);
    for (const [entry, bundle] of bundles) {
      const code = new TextDecoder().decode(bundle.code);
      expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
      // Self-contained: no import of another output of the build (only node: builtins and externals).
      const imports = [...code.matchAll(/\bfrom\s*"([^"]+)"/g)].map((m) => m[1]);
      expect(
        imports.filter((i) => !i?.startsWith('node:') && !EXTERNAL_MODULES.includes(i as never)),
      ).toEqual([]);
      const map = JSON.parse(new TextDecoder().decode(bundle.map)) as { sources: string[] };
      expect(map.sources.some((s) => s.endsWith(entry))).toBe(true);
    }
  }, 180_000);

  it('writes a handler into an asset directory as index.mjs that loads and exports its handler', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bundle-'));
    try {
      const bundle = buildAll(['functions/platform/health.ts']).get('functions/platform/health.ts');
      writeBundleFiles(bundle as NonNullable<typeof bundle>, dir);
      expect(readFileSync(path.join(dir, 'index.mjs.map'), 'utf8')).toContain('"mappings"');
      // The handler reads its configuration at init, as on Lambda.
      for (const name of ['CATALOG_TABLE', 'LAKE_RAW_BUCKET', 'DATABASE_URL', 'DATABASE_SECRET_ARN'])
        vi.stubEnv(name, 'x');
      const module = (await import(path.join(dir, 'index.mjs'))) as { handler?: unknown };
      expect(typeof module.handler).toBe('function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('refuses an entry that is no handler', () => {
    expect(() => writeBundle('shared/config.ts', tmpdir())).toThrow(/not a handler/);
  });
});
