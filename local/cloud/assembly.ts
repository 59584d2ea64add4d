import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** One stack of a cloud assembly (`cdk.out`), with its template parsed. */
export interface StackArtifact {
  stackName: string;
  template: CfnTemplate;
  dependencies: string[];
}

export interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: unknown; NoEcho?: boolean }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown }; Condition?: string }>;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  Metadata?: Record<string, unknown>;
}

/**
 * Reads the stacks of a cloud assembly in deployment order (dependencies first), through the CDK's
 * cloud-assembly API (`Manifest.loadAssemblyManifest`, as the CDK CLI reads it: typed, and refused when a newer
 * CDK wrote it). The module (~0.1–0.2 s to load) is imported on first use, so the caller can overlap it with
 * other start-up work.
 */
export async function readAssembly(dir: string): Promise<StackArtifact[]> {
  const { ArtifactType, Manifest } = await import('aws-cdk-lib/cloud-assembly-schema');
  const manifest = Manifest.loadAssemblyManifest(path.join(dir, 'manifest.json'));
  const stacks = new Map<string, StackArtifact>();
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== ArtifactType.AWS_CLOUDFORMATION_STACK) continue;
    const properties = artifact.properties as { templateFile?: string; stackName?: string } | undefined;
    if (!properties?.templateFile) continue;
    const template = JSON.parse(readFileSync(path.join(dir, properties.templateFile), 'utf8')) as CfnTemplate;
    stacks.set(id, {
      stackName: properties.stackName ?? id,
      template,
      dependencies: artifact.dependencies ?? [],
    });
  }
  const ordered: StackArtifact[] = [];
  const visiting = new Set<string>();
  const visit = (id: string) => {
    const stack = stacks.get(id);
    if (!stack || ordered.includes(stack)) return;
    if (visiting.has(id)) throw new Error(`Stacks depend on each other in a cycle through ${id}`);
    visiting.add(id);
    for (const dep of stack.dependencies) visit(dep); // asset artifacts are no stacks: skipped
    ordered.push(stack);
  };
  for (const id of stacks.keys()) visit(id);
  return ordered;
}

/**
 * Inputs whose change means a new synth: the app, the code it bundles (and the console module the app
 * imports), the lock file (dependency versions) and cdk.json. With the context, they key the cache.
 */
export const SYNTH_INPUTS = [
  'infra',
  'functions',
  'shared',
  'events',
  'web',
  'package-lock.json',
  'cdk.json',
];

/** The synth cache key: a hash of the context and of every input file's path and content. */
export function sourceHash(root: string, context: Record<string, unknown>): string {
  const hash = createHash('sha256').update(JSON.stringify(context));
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!existsSync(abs)) return;
    const stat = statSync(abs);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(abs).sort()) {
        if (entry !== 'node_modules' && entry !== 'dist' && !entry.endsWith('.test.ts'))
          walk(path.join(rel, entry));
      }
    } else {
      hash.update(rel).update(readFileSync(abs));
    }
  };
  for (const source of SYNTH_INPUTS) walk(source);
  return hash.digest('hex');
}

/**
 * Synthesizes the CDK app into `outdir` exactly as `cdk synth` would (it runs the `app` command of
 * cdk.json with CDK_OUTDIR and CDK_CONTEXT_JSON), unless the inputs (SYNTH_INPUTS and the context)
 * have not changed since the last synth into that directory: their hash is kept in
 * `<outdir>/.source-hash`, written only after a synth succeeded.
 *
 * The CDK's built-in template validation (a CloudFormation linter compiled to WebAssembly, more than
 * half of the synth's CPU time) is left to `npm run synth` and CI, which synthesize the same templates:
 * it checks, it does not change a template.
 */
export async function synthesize(options: {
  root: string;
  outdir: string;
  context: Record<string, unknown>;
}): Promise<{ cached: boolean; durationMs: number }> {
  const started = performance.now();
  const { root, outdir } = options;
  const cdkJson = JSON.parse(readFileSync(path.join(root, 'cdk.json'), 'utf8')) as {
    app: string;
    context?: Record<string, unknown>;
  };
  // What the cdk CLI adds by default: asset metadata tells where each function's bundle is.
  const context = {
    ...cdkJson.context,
    'aws:cdk:enable-asset-metadata': true,
    'aws:cdk:enable-path-metadata': true,
    ...options.context,
  };
  const hash = sourceHash(root, context);
  const marker = path.join(outdir, '.source-hash');
  if (
    existsSync(marker) &&
    readFileSync(marker, 'utf8') === hash &&
    existsSync(path.join(outdir, 'manifest.json'))
  ) {
    return { cached: true, durationMs: performance.now() - started };
  }
  // A synth stopped half-way must not leave the previous key beside a half-written assembly.
  rmSync(marker, { force: true });
  const [command, ...args] = cdkJson.app.split(/\s+/) as [string, ...string[]];
  const output: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(command === 'node' ? process.execPath : command, args, {
      cwd: root,
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(context),
        CDK_VALIDATION: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    throw new Error(
      `Synth of the CDK app failed (exit ${code}):\n${output.join('').trim().split('\n').slice(-30).join('\n')}`,
    );
  }
  writeFileSync(marker, hash);
  return { cached: false, durationMs: performance.now() - started };
}
