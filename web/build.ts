/**
 * Builds the web console (`web/src`) into static files: `index.html`, hashed ESM chunks and the
 * stylesheet. One esbuild call, code-split so the storefront does not load the charting library.
 * Used by the local cloud (in memory, on every start) and by the `Web` stack (into its asset).
 *
 * @example
 * const files = await buildConsole(); // Map { 'index.html' => Uint8Array, 'assets/main-XXXX.js' => … }
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import esbuild from 'esbuild';

export const WEB_ROOT = path.dirname(fileURLToPath(import.meta.url));

export interface ConsoleBuild {
  /** Relative path → content. */
  files: Map<string, Uint8Array>;
  /** Bytes of JavaScript loaded by the first page (the entry chunk and its static imports). */
  entryBytes: number;
  /** The files of {@link entryBytes}: the entry chunk and its static imports (keys of `files`). */
  entryFiles: string[];
  /** Bytes of all JavaScript chunks. */
  totalJsBytes: number;
}

/** The console's esbuild options (also the bench's, for its baseline bundle). */
export const CONSOLE_BUILD_OPTIONS = {
  entryPoints: { main: path.join(WEB_ROOT, 'src/main.tsx') },
  absWorkingDir: WEB_ROOT,
  // Nothing is written there (write: false): it only names the files.
  outdir: path.join(WEB_ROOT, 'dist/assets'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  write: false,
  metafile: true,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'error',
} satisfies esbuild.BuildOptions;

let building = 0;

/**
 * Builds the console in memory (the local cloud serves it from there). The esbuild service process
 * the async API starts (~50 MB) is stopped when the last build in flight is done, so it does not stay
 * in the local cloud's memory for nothing.
 */
export async function buildConsole(): Promise<ConsoleBuild> {
  building++;
  try {
    return assemble(await esbuild.build(CONSOLE_BUILD_OPTIONS));
  } finally {
    if (--building === 0) await esbuild.stop();
  }
}

/** The same build, synchronously (CDK's local bundling hook is synchronous). */
export function buildConsoleSync(): ConsoleBuild {
  return assemble(esbuild.buildSync(CONSOLE_BUILD_OPTIONS));
}

function assemble(result: esbuild.BuildResult<typeof CONSOLE_BUILD_OPTIONS>): ConsoleBuild {
  const files = new Map<string, Uint8Array>();
  const dist = path.join(WEB_ROOT, 'dist');
  for (const file of result.outputFiles) files.set(path.relative(dist, file.path), file.contents);
  // Metafile paths are relative to WEB_ROOT (`dist/assets/main-X.js`); pages load them from `/assets/…`.
  const url = (key: string) => `/${path.relative(dist, path.join(WEB_ROOT, key))}`;
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((k) => outputs[k]?.entryPoint?.endsWith('src/main.tsx'));
  if (!entry) throw new Error('web console build: no entry chunk');
  const css = outputs[entry]?.cssBundle;
  const staticImports = (outputs[entry]?.imports ?? []).filter((i) => i.kind === 'import-statement');
  // The entry's static imports are fetched with it, not one round trip after it is parsed.
  const preload = staticImports
    .map((i) => `<link rel="modulepreload" href="${url(i.path)}" />`)
    .join('\n    ');
  const html = readFileSync(path.join(WEB_ROOT, 'index.html'), 'utf8')
    .replace('%MAIN%', url(entry))
    .replace('%CSS%', css ? url(css) : '')
    .replace('%PRELOAD%', preload);
  files.set('index.html', new TextEncoder().encode(html));
  const entryBytes =
    (outputs[entry]?.bytes ?? 0) + staticImports.reduce((sum, i) => sum + (outputs[i.path]?.bytes ?? 0), 0);
  const totalJsBytes = Object.entries(outputs)
    .filter(([k]) => k.endsWith('.js'))
    .reduce((sum, [, o]) => sum + o.bytes, 0);
  const entryFiles = [entry, ...staticImports.map((i) => i.path)].map((k) => url(k).slice(1));
  return { files, entryBytes, entryFiles, totalJsBytes };
}

/** Writes a build to `outDir` (the `Web` stack's asset). */
export function writeConsoleSync(outDir: string): ConsoleBuild {
  const build = buildConsoleSync();
  for (const [name, content] of build.files) {
    const file = path.join(outDir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return build;
}

/**
 * The console's Content-Security-Policy: scripts only from its own origin; requests to itself and the
 * API (and on AWS Cognito's token endpoint). Inline styles are allowed because the charts' SVG carries
 * its own `<style>`.
 */
export function contentSecurityPolicy(connect: string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' ${connect.join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}
