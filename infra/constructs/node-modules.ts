import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Architecture } from '../config.ts';

/** Where a Lambda function runs, as npm's `os`, `cpu` and `libc` package fields name it. */
export interface Platform {
  os: string;
  cpu: string;
  libc: string;
}

/** Lambda's Node.js runtimes: Amazon Linux (glibc) on Graviton (arm64) or x86_64. */
export const lambdaPlatform = (architecture: Architecture): Platform => ({
  os: 'linux',
  cpu: architecture === 'x86_64' ? 'x64' : 'arm64',
  libc: 'glibc',
});

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
}

/** npm's rule for `os`/`cpu`/`libc`: absent, or listing the value, or not excluding it with `!`. */
export function matchesPlatform(manifest: Partial<Manifest>, platform: Platform): boolean {
  const fits = (allowed: string[] | undefined, value: string) =>
    !allowed?.length ||
    (allowed.some((a) => !a.startsWith('!')) ? allowed.includes(value) : !allowed.includes(`!${value}`));
  return (
    fits(manifest.os, platform.os) && fits(manifest.cpu, platform.cpu) && fits(manifest.libc, platform.libc)
  );
}

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest;

/**
 * Copies `modules` and everything they depend on into `<outputDir>/node_modules`, for `platform`:
 * optional dependencies are kept only where their `os`/`cpu`/`libc` fit it (a native module's
 * prebuilt binary). Packages come from the project's `node_modules`; one of another platform (the
 * arm64 binary on an x64 machine) is fetched once from the npm registry (`npm pack`) into
 * `cacheDir`. Returns the names of the packages copied.
 *
 * @example
 * installNodeModules(outDir, ['@duckdb/node-api'], lambdaPlatform('arm64'), { root, cacheDir });
 */
export function installNodeModules(
  outputDir: string,
  modules: string[],
  platform: Platform,
  options: { root: string; cacheDir: string },
): string[] {
  const copied: string[] = [];
  const queue = modules.map((name) => ({ name, version: undefined as string | undefined }));
  for (let next = queue.shift(); next; next = queue.shift()) {
    const { name } = next;
    if (copied.includes(name)) continue;
    const installed = path.join(options.root, 'node_modules', name);
    let source = installed;
    let manifest = existsSync(path.join(installed, 'package.json'))
      ? read(path.join(installed, 'package.json'))
      : undefined;
    if (!manifest || (next.version && manifest.version !== next.version)) {
      if (!next.version) throw new Error(`${name} is not installed: run npm install`);
      source = fetchPackage(name, next.version, options.cacheDir);
      manifest = read(path.join(source, 'package.json'));
    }
    cpSync(source, path.join(outputDir, 'node_modules', name), { recursive: true, dereference: true });
    copied.push(name);
    for (const dep of Object.keys(manifest.dependencies ?? {})) queue.push({ name: dep, version: undefined });
    for (const [dep, version] of Object.entries(manifest.optionalDependencies ?? {})) {
      if (matchesPlatform(platformFields(dep, version, options), platform))
        queue.push({ name: dep, version });
    }
  }
  return copied;
}

/**
 * The `os`/`cpu`/`libc` fields of a package version: from node_modules when installed, else from
 * package-lock.json, which records them for every optional package (no registry call).
 */
function platformFields(name: string, version: string, options: { root: string; cacheDir: string }) {
  const installed = path.join(options.root, 'node_modules', name, 'package.json');
  if (existsSync(installed) && read(installed).version === version) return read(installed);
  const lock = JSON.parse(readFileSync(path.join(options.root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, Partial<Manifest>>;
  };
  const locked = lock.packages[`node_modules/${name}`];
  if (!locked || locked.version !== version)
    throw new Error(`${name}@${version} is not in package-lock.json`);
  return locked;
}

/** `npm pack name@version`, unpacked into the cache (once); returns the package directory. */
function fetchPackage(name: string, version: string, cacheDir: string): string {
  const dir = path.join(cacheDir, 'packages', `${name.replace('/', '__')}@${version}`);
  if (existsSync(path.join(dir, 'package', 'package.json'))) return path.join(dir, 'package');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', dir], {
      encoding: 'utf8',
    }),
  ) as [{ filename: string }];
  execFileSync('tar', ['-xzf', path.join(dir, packed.filename), '-C', dir]);
  rmSync(path.join(dir, packed.filename));
  return path.join(dir, 'package');
}
