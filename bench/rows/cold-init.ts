/**
 * Handler cold init: for every Lambda bundle of the synthesized template (the shared local cloud's
 * `cdk.out`), its size and the time from spawning a Node process to its handler module being
 * loaded, against an empty handler (`export const handler = async () => ({})`) started the same
 * way. Median of 3 starts each, run alternately; NODE_OPTIONS as in the template (source maps on).
 * Each bundle gets the environment its function has in the local cloud (from the control API's
 * `GET /_local/functions`): handlers read their configuration at init, as on Lambda.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readAssembly } from '../../local/cloud/assembly.ts';
import type { EndpointsFile } from '../../local/cloud/local-cloud.ts';
import { type BenchRow, measure, median } from '../lib/row.ts';

interface Bundle {
  name: string;
  file: string;
  bytes: number;
  nodeOptions: string;
  /** The function's variables as the local cloud resolved them (secrets redacted: init only reads them). */
  env: Record<string, string>;
}

/** Function name → environment, from the local cloud's control API. */
async function deployedEnvironments(stateDir: string): Promise<Map<string, Record<string, string>>> {
  const { servicesUrl } = JSON.parse(
    readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8'),
  ) as EndpointsFile;
  const token = readFileSync(path.join(stateDir, 'control-token'), 'utf8').trim();
  const response = await fetch(`${servicesUrl}/_local/functions`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`GET /_local/functions of the local cloud: ${response.status}`);
  const list = (await response.json()) as { name: string; environment: Record<string, string> }[];
  return new Map(list.map((f) => [f.name, f.environment]));
}

/** Milliseconds from spawn to "loaded" printed after the module's import finished. */
function start(file: string, nodeOptions: string, vars: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const code = `await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write('loaded');`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: path.dirname(file),
      env: { ...vars, PATH: process.env.PATH, NODE_OPTIONS: nodeOptions, AWS_REGION: 'us-east-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout.once('data', () => {
      resolve(performance.now() - t0);
      child.kill('SIGKILL');
    });
    child.once('exit', (code) => {
      if (code !== null && code !== 0) reject(new Error(`${file}: exit ${code} ${err.slice(0, 300)}`));
    });
  });
}

export const row: BenchRow = {
  name: 'cold-init',
  title: 'Handler cold init (bundle size, init ms) vs an empty handler on the same Node',
  order: 30,
  sharedCloud: true,
  async run(ctx) {
    const cloud = await ctx.cloud();
    const assembly = path.join(cloud.stateDir, 'cdk.out');
    const deployed = await deployedEnvironments(cloud.stateDir);
    const bundles = new Map<string, Bundle>();
    for (const stack of await readAssembly(assembly)) {
      for (const [id, resource] of Object.entries(stack.template.Resources ?? {})) {
        const r = resource as {
          Type: string;
          Metadata?: Record<string, string>;
          Properties?: Record<string, unknown>;
        };
        const asset = r.Metadata?.['aws:asset:path'];
        if (r.Type !== 'AWS::Lambda::Function' || !asset) continue;
        const dir = path.join(assembly, asset);
        const entry = readdirSync(dir).find((f) => /^index\.(mjs|js)$/.test(f));
        if (!entry || bundles.has(dir)) continue;
        // The local cloud names a function `<stack>-<logical id>` (local/cloud/deploy.ts).
        const env = deployed.get(`${stack.stackName}-${id}`.slice(0, 64));
        if (!env) throw new Error(`function ${stack.stackName}-${id} is not deployed in the local cloud`);
        bundles.set(dir, {
          name: id.replace(/[0-9A-F]{8}$/, ''),
          file: path.join(dir, entry),
          bytes: statSync(path.join(dir, entry)).size,
          nodeOptions: env.NODE_OPTIONS ?? '',
          env,
        });
      }
    }
    if (!bundles.size) throw new Error(`no Lambda bundles found in ${assembly}`);
    const emptyDir = path.join(ctx.scratch, 'empty-handler');
    mkdirSync(emptyDir, { recursive: true });
    const empty = path.join(emptyDir, 'index.mjs');
    writeFileSync(empty, 'export const handler = async () => ({});\n');
    const repeats = ctx.quick ? 1 : 3;
    const results: { bundle: Bundle; ms: number; emptyMs: number }[] = [];
    for (const bundle of bundles.values()) {
      const ours: number[] = [];
      const base: number[] = [];
      for (let i = 0; i < repeats; i++) {
        ours.push(await start(bundle.file, bundle.nodeOptions, bundle.env));
        base.push(await start(empty, bundle.nodeOptions));
      }
      results.push({ bundle, ms: median(ours), emptyMs: median(base) });
    }
    results.sort((a, b) => b.ms / b.emptyMs - a.ms / a.emptyMs);
    const slowest = results[0] as (typeof results)[number];
    const mid = results[Math.floor(results.length / 2)] as (typeof results)[number];
    const biggest = [...results].sort(
      (a, b) => b.bundle.bytes - a.bundle.bytes,
    )[0] as (typeof results)[number];
    const totalMB = results.reduce((n, r) => n + r.bundle.bytes, 0) / 1048576;
    const emptyName = 'empty handler, same Node';
    return {
      measurements: [
        measure(
          `init, slowest (${slowest.bundle.name})`,
          slowest.ms,
          'ms',
          emptyName,
          slowest.emptyMs,
          `${(slowest.bundle.bytes / 1024).toFixed(0)} KB`,
        ),
        measure(
          `init, median of ${results.length} bundles (${mid.bundle.name})`,
          mid.ms,
          'ms',
          emptyName,
          mid.emptyMs,
        ),
        measure(
          `largest bundle (${biggest.bundle.name})`,
          biggest.bundle.bytes / 1024,
          'KB',
          undefined,
          undefined,
          `all ${results.length} bundles: ${totalMB.toFixed(1)} MB`,
        ),
      ],
      notes: results.map(
        (r) =>
          `${r.bundle.name}: ${(r.bundle.bytes / 1024).toFixed(0)} KB, init ${r.ms.toFixed(0)} ms vs empty ${r.emptyMs.toFixed(0)} ms`,
      ),
    };
  },
};
