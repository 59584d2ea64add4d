import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/*
 * .github/workflows/ci.yml cannot run on the build machines (no Docker, no AWS): it is kept correct by
 * construction and checked here: YAML syntax, the jobs and steps the project relies on, and that every
 * command it runs exists (npm scripts, files).
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  name?: string;
  'runs-on': string;
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}
const workflow = parse(read('.github/workflows/ci.yml')) as {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
};
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
const runs = (job: Job) => job.steps.flatMap((step) => (step.run ? [step.run.trim()] : []));
const uses = (job: Job) => job.steps.flatMap((step) => (step.uses ? [step.uses] : []));

describe('.github/workflows/ci.yml', () => {
  it('is a workflow run on push and by hand, whose steps each run or use one thing', () => {
    expect(workflow.name).toBe('CI');
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(['push', 'workflow_dispatch']));
    expect(Object.keys(workflow.jobs)).toEqual(['test', 'localstack', 'aws']);
    for (const [id, job] of Object.entries(workflow.jobs)) {
      expect(job['runs-on'], id).toBe('ubuntu-latest');
      expect(job.steps.length, id).toBeGreaterThan(2);
      for (const step of job.steps)
        expect(Boolean(step.run) !== Boolean(step.uses), JSON.stringify(step)).toBe(true);
      // Actions pinned to a major version at least.
      for (const action of uses(job)) expect(action, id).toMatch(/^[\w-]+\/[\w-]+@v\d+/);
    }
  });

  it('lints and runs npm test through the project’s CI script, with Java for DynamoDB Local', () => {
    const job = workflow.jobs.test as Job;
    expect(runs(job)).toContain('bash .ci/run');
    const ci = read('.ci/run');
    expect(ci).toContain('npm run lint');
    expect(ci).toContain('npm test');
    // Issue 11: the suite must pass with the local cloud's replicas on (the default) and off.
    expect(ci).toContain('npm run test:replication-off');
    expect(scripts['test:replication-off']).toMatch(/^SHOP_REPLICATION=off /);
    expect(uses(job)).toEqual(expect.arrayContaining(['actions/setup-java@v4', 'actions/setup-node@v4']));
  });

  it('deploys to the pinned LocalStack with Docker Compose and runs the end-to-end suite there', () => {
    const commands = runs(workflow.jobs.localstack as Job);
    const up = commands.findIndex((c) => c.startsWith('docker compose -f docker-compose.localstack.yml up'));
    const deploy = commands.indexOf('npm run deploy:localstack');
    const e2e = commands.indexOf('npm run test:e2e -- --target localstack');
    expect(up).toBeGreaterThanOrEqual(0);
    expect(deploy).toBeGreaterThan(up);
    expect(e2e).toBeGreaterThan(deploy);
    expect(commands.some((c) => c.endsWith('down -v'))).toBe(true);
  });

  it('has a manual AWS job with OIDC credentials that deploys, tests and destroys', () => {
    const job = workflow.jobs.aws as Job;
    expect(job.if).toContain("github.event_name == 'workflow_dispatch'");
    expect(job.permissions).toMatchObject({ 'id-token': 'write' });
    const credentials = job.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(credentials?.with).toMatchObject({ 'role-to-assume': expect.stringContaining('AWS_ROLE_ARN') });
    expect(credentials?.with).not.toHaveProperty('aws-access-key-id');
    const commands = runs(job);
    expect(commands.indexOf('npm run test:e2e -- --target aws')).toBeGreaterThan(
      commands.indexOf('npm run deploy -- --require-approval never'),
    );
    expect(commands).toContain('npm run destroy -- --force');
  });

  it('runs only npm scripts and files that exist', () => {
    const commands = Object.values(workflow.jobs).flatMap(runs);
    const npmScripts = commands.flatMap((c) => [...c.matchAll(/npm run (\S+)/g)].map((m) => m[1] as string));
    expect(npmScripts.length).toBeGreaterThan(4);
    for (const script of npmScripts) expect(Object.keys(scripts), script).toContain(script);
    const files = commands.flatMap((c) => [...c.matchAll(/(?:bash|-f) (\S+)/g)].map((m) => m[1] as string));
    expect(files).toEqual(expect.arrayContaining(['.ci/run', 'docker-compose.localstack.yml']));
    for (const file of files) expect(existsSync(path.join(ROOT, file)), file).toBe(true);
  });
});

describe('docker-compose.localstack.yml', () => {
  it('pins LocalStack 4.14.0 (no token needed), overridable, with the Postgres its functions use', () => {
    const compose = parse(read('docker-compose.localstack.yml')) as {
      services: Record<string, { image: string; environment?: string[]; volumes?: string[] }>;
    };
    const localstack = compose.services.localstack;
    expect(localstack?.image).toBe('${LOCALSTACK_IMAGE:-localstack/localstack:4.14.0}');
    expect(localstack?.environment).toContain('LOCALSTACK_AUTH_TOKEN=${LOCALSTACK_AUTH_TOKEN:-}');
    expect(localstack?.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    // deploy-localstack.sh's default DATABASE_URL names this container.
    expect(read('scripts/deploy-localstack.sh')).toContain('@shop-postgres:5432/');
    expect(compose.services.postgres).toMatchObject({ image: 'postgres:18' });
  });
});
