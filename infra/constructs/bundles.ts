/**
 * The one bundling definition of the shop's Lambda functions: every handler under `functions/` is
 * built by ONE multi-entry esbuild call (the shared code — the AWS SDK, Powertools, shared/ — is
 * parsed once instead of once per function), and each `ServiceFunction` asset takes its own
 * self-contained file from that build. The build runs on the first asset that asks for it and is
 * kept for the rest of the synth.
 *
 * @example
 * const bundle = bundleOf('functions/platform/health.ts'); // builds all handlers on first call
 * writeBundle('functions/platform/health.ts', outputDir);   // index.mjs + index.mjs.map
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import esbuild from 'esbuild';

/** Repository root: entries are given relative to it, e.g. `functions/platform/health.ts`. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the handlers live: every `.ts` file below it (tests aside) is an entry of the build. */
export const HANDLERS_DIR = 'functions';

/**
 * Modules never bundled: `pg-native` (an optional peer of `pg`) and DuckDB (a native module: the ETL
 * transform and aggregate ship it in their asset's node_modules, see `ServiceFunctionProps.nodeModules`).
 */
export const EXTERNAL_MODULES = ['pg-native', '@duckdb/node-api'] as const;

/** A built handler: its ESM code (named `index.mjs` in the asset) and source map. */
export interface Bundle {
  code: Uint8Array;
  map: Uint8Array;
}

/** The handler entries, relative to the repository root, sorted. */
export function handlerEntries(root = PROJECT_ROOT): string[] {
  const entries: string[] = [];
  const walk = (rel: string) => {
    for (const dirent of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, dirent.name);
      if (dirent.isDirectory()) walk(child);
      else if (dirent.name.endsWith('.ts') && !dirent.name.endsWith('.test.ts')) entries.push(child);
    }
  };
  walk(HANDLERS_DIR);
  return entries.sort();
}

/**
 * The esbuild options of the build: one minified ESM file per entry for Node 24, source maps, AWS SDK
 * included (the version that is tested is the version that runs), no code shared between bundles.
 */
export function buildOptions(entries: string[], root = PROJECT_ROOT) {
  return {
    entryPoints: entries.map((e) => path.join(root, e)),
    // Nothing is written there (write: false); it only names the outputs, at the depth of an asset
    // directory under cdk.out so that source-map paths resolve to the repository.
    outdir: path.join(root, 'cdk.out', 'bundles'),
    outbase: path.join(root, HANDLERS_DIR),
    outExtension: { '.js': '.mjs' },
    write: false,
    absWorkingDir: root,
    bundle: true,
    splitting: false,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: [...EXTERNAL_MODULES],
    // Some dependencies are CommonJS and call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'error',
  } satisfies esbuild.BuildOptions;
}

/** The same build as a shell command, for CDK's Docker fallback (one entry into `/asset-output`). */
export function dockerCommand(entry: string): string {
  return [
    `npx esbuild ${entry} --bundle --platform=node --target=node24 --format=esm --minify --sourcemap`,
    '--sources-content=false --main-fields=module,main --outfile=/asset-output/index.mjs',
    ...EXTERNAL_MODULES.map((m) => `--external:${m}`),
  ].join(' ');
}

/**
 * Builds every entry with one esbuild call; keys are the entries (`functions/…/x.ts`). `build` is
 * esbuild's `buildSync` (CDK's local bundling hook is synchronous), replaceable to observe the calls.
 */
export function buildAll(
  entries: string[],
  root = PROJECT_ROOT,
  build: (
    options: ReturnType<typeof buildOptions>,
  ) => esbuild.BuildResult<ReturnType<typeof buildOptions>> = esbuild.buildSync,
): Map<string, Bundle> {
  const options = buildOptions(entries, root);
  return bundlesOf(build(options), entries, options, root);
}

/** The bundles of a build's output files, by entry. */
function bundlesOf(
  result: esbuild.BuildResult<ReturnType<typeof buildOptions>>,
  entries: string[],
  options: ReturnType<typeof buildOptions>,
  root: string,
): Map<string, Bundle> {
  const files = new Map(result.outputFiles.map((f) => [f.path, f.contents]));
  const bundles = new Map<string, Bundle>();
  for (const entry of entries) {
    const rel = path.relative(options.outbase, path.join(root, entry)).replace(/\.ts$/, '.mjs');
    const js = files.get(path.join(options.outdir, rel));
    const map = files.get(path.join(options.outdir, `${rel}.map`));
    if (!js || !map) throw new Error(`bundles: esbuild wrote no output for ${entry}`);
    // In the asset the file is index.mjs: point its source-map comment at index.mjs.map.
    const code = new TextDecoder()
      .decode(js)
      .replace(/\/\/# sourceMappingURL=[^\n]*\n?$/, '//# sourceMappingURL=index.mjs.map\n');
    bundles.set(entry, { code: new TextEncoder().encode(code), map });
  }
  return bundles;
}

let all: Map<string, Bundle> | undefined;
let prebuildFailure: { error: unknown } | undefined;

/**
 * Runs the build of all handlers in the background (esbuild's own process, on every core) so that
 * the app can load aws-cdk-lib meanwhile (about 2 CPU-s of module loading on one core); the assets
 * then take their files from it. The same options and output as {@link bundleOf}'s own build; a
 * failed build is thrown by the first `bundleOf`, as its own build would have thrown it.
 */
export async function prebuildAll(): Promise<void> {
  const entries = handlerEntries();
  const options = buildOptions(entries);
  try {
    all = bundlesOf(await esbuild.build(options), entries, options, PROJECT_ROOT);
  } catch (error) {
    prebuildFailure = { error };
  } finally {
    await esbuild.stop(); // the async API's service process; later builds are synchronous
  }
}

/** One handler's bundle, from the build of all handlers (run on the first call of a synth). */
export function bundleOf(entry: string): Bundle {
  const entries = handlerEntries();
  if (!entries.includes(entry)) throw new Error(`bundles: ${entry} is not a handler under ${HANDLERS_DIR}/`);
  if (prebuildFailure) throw prebuildFailure.error;
  all ??= buildAll(entries);
  const bundle = all.get(entry);
  if (!bundle) throw new Error(`bundles: ${entry} was added after the build of this synth`);
  return bundle;
}

/** Writes one handler's bundle into an asset directory as `index.mjs` and `index.mjs.map`. */
export function writeBundle(entry: string, outputDir: string): void {
  writeBundleFiles(bundleOf(entry), outputDir);
}

/** Writes a bundle into a directory as `index.mjs` and `index.mjs.map`. */
export function writeBundleFiles(bundle: Bundle, outputDir: string): void {
  mkdirSync(outputDir, { recursive: true });
  writeFileSync(path.join(outputDir, 'index.mjs'), bundle.code);
  writeFileSync(path.join(outputDir, 'index.mjs.map'), bundle.map);
}
