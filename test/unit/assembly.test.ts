import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAssembly } from '../../local/cloud/assembly.ts';

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
