import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAssembly, synthesize } from '../../local/cloud/assembly.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A cloud assembly as `cdk synth` writes it: stacks, their asset manifests, dependencies. */
function assembly(artifacts: Record<string, unknown>, templates: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'assembly-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '48.0.0', artifacts }));
  for (const [file, template] of Object.entries(templates))
    writeFileSync(path.join(dir, file), JSON.stringify(template));
  return dir;
}

const stack = (templateFile: string, dependencies: string[] = [], stackName?: string) => ({
  type: 'aws:cloudformation:stack',
  environment: 'aws://unknown-account/unknown-region',
  properties: { templateFile, ...(stackName ? { stackName } : {}) },
  dependencies,
});

describe('readAssembly (through the CDK cloud-assembly schema)', () => {
  it('returns the stacks dependencies first, skipping asset manifests', async () => {
    const dir = assembly(
      {
        'Shop-Services': stack('Shop-Services.template.json', ['Shop-Data', 'Shop-Services.assets']),
        'Shop-Services.assets': {
          type: 'cdk:asset-manifest',
          properties: { file: 'Shop-Services.assets.json' },
        },
        'Shop-Data': stack('Shop-Data.template.json', [], 'Shop-dev-Data'),
        Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } },
      },
      {
        'Shop-Services.template.json': { Resources: { Fn: { Type: 'AWS::Lambda::Function' } } },
        'Shop-Data.template.json': { Resources: { Table: { Type: 'AWS::DynamoDB::Table' } } },
      },
    );
    const stacks = await readAssembly(dir);
    expect(stacks.map((s) => s.stackName)).toEqual(['Shop-dev-Data', 'Shop-Services']);
    expect(stacks[1]?.template.Resources.Fn?.Type).toBe('AWS::Lambda::Function');
  });

  it('refuses an assembly written by a newer cloud-assembly schema than the installed CDK reads', async () => {
    const dir = assembly({}, {});
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '999.0.0', artifacts: {} }));
    await expect(readAssembly(dir)).rejects.toThrow(/version/i);
  });

  it('refuses stacks that depend on each other in a cycle', async () => {
    const dir = assembly(
      { A: stack('A.json', ['B']), B: stack('B.json', ['A']) },
      { 'A.json': { Resources: {} }, 'B.json': { Resources: {} } },
    );
    await expect(readAssembly(dir)).rejects.toThrow(/cycle/);
  });
});

describe('synthesize (the synth cache keyed by a hash of the inputs)', () => {
  /** A project whose "CDK app" writes a manifest and counts its runs, as `cdk synth` would run it. */
  function project(): {
    root: string;
    outdir: string;
    runs: () => number;
    write: (rel: string, text: string) => void;
  } {
    const root = mkdtempSync(path.join(tmpdir(), 'synth-cache-'));
    dirs.push(root);
    const write = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    write('cdk.json', JSON.stringify({ app: 'node app.mjs', context: { stage: 'dev' } }));
    write(
      'app.mjs',
      `import fs from 'node:fs';
fs.mkdirSync(process.env.CDK_OUTDIR, { recursive: true });
fs.appendFileSync('runs.txt', JSON.stringify({ context: JSON.parse(process.env.CDK_CONTEXT_JSON), validation: process.env.CDK_VALIDATION }) + '\\n');
fs.writeFileSync(process.env.CDK_OUTDIR + '/manifest.json', '{}');
if (fs.existsSync('infra/fail')) process.exit(3);
`,
    );
    write('infra/app.ts', 'export const app = 1;\n');
    write('functions/platform/health.ts', 'export const handler = 1;\n');
    write('package-lock.json', '{"lockfileVersion":3}\n');
    const outdir = path.join(root, '.local', 'cdk.out');
    const runs = () => readFileSync(path.join(root, 'runs.txt'), 'utf8').trim().split('\n').length;
    return { root, outdir, runs, write };
  }

  it('skips the second synth, and synthesizes again when a source, the lock file or the context changes', async () => {
    const p = project();
    const context = { target: 'local' };
    expect((await synthesize({ root: p.root, outdir: p.outdir, context })).cached).toBe(false);
    expect((await synthesize({ root: p.root, outdir: p.outdir, context })).cached).toBe(true);
    expect(p.runs()).toBe(1);

    p.write('functions/platform/health.ts', 'export const handler = 2;\n');
    expect((await synthesize({ root: p.root, outdir: p.outdir, context })).cached).toBe(false);
    expect(p.runs()).toBe(2);
    p.write('package-lock.json', '{"lockfileVersion":3,"packages":{}}\n');
    expect((await synthesize({ root: p.root, outdir: p.outdir, context })).cached).toBe(false);
    expect((await synthesize({ root: p.root, outdir: p.outdir, context: { target: 'aws' } })).cached).toBe(
      false,
    );
    expect(p.runs()).toBe(4);
    // A test file is no input of the synth.
    p.write('functions/platform/health.test.ts', 'it.todo("x");\n');
    expect((await synthesize({ root: p.root, outdir: p.outdir, context: { target: 'aws' } })).cached).toBe(
      true,
    );
  }, 120_000);

  it('passes the context like the cdk CLI, leaves template validation to `npm run synth`, and keeps no key after a failed synth', async () => {
    const p = project();
    await synthesize({ root: p.root, outdir: p.outdir, context: { target: 'local' } });
    const run = JSON.parse(readFileSync(path.join(p.root, 'runs.txt'), 'utf8').split('\n')[0] as string);
    expect(run.context).toMatchObject({
      stage: 'dev',
      target: 'local',
      'aws:cdk:enable-asset-metadata': true,
    });
    expect(run.validation).toBe('false');

    p.write('infra/fail', 'x');
    await expect(
      synthesize({ root: p.root, outdir: p.outdir, context: { target: 'local' } }),
    ).rejects.toThrow(/exit 3/);
    // The failed synth wrote a manifest over the good one: back to the good inputs, it must synthesize again.
    rmSync(path.join(p.root, 'infra/fail'));
    expect((await synthesize({ root: p.root, outdir: p.outdir, context: { target: 'local' } })).cached).toBe(
      false,
    );
    expect(p.runs()).toBe(3);
  }, 120_000);
});
